// What each tunnel program says once its tunnel is up, read from its output (pure functions,
// tested on the programs' real lines):
//   ssh -v:       "debug1: remote forward success for: listen 9000, connect 127.0.0.1:5000"
//                 or, for a port the server picks, "Allocated port 40123 for remote forward to ..."
//   cloudflared:  its quick-tunnel box, "|  https://words-words.trycloudflare.com  |"
//   ngrok (logfmt on stdout): msg="started tunnel" ... url=https://xxxx.ngrok-free.app
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace moccha::tunnel {

// The remote port ssh forwards from once the forward is in place; nullopt before.
std::optional<int> ssh_forwarded_port(std::string_view output);
// The first quick-tunnel URL cloudflared printed.
std::optional<std::string> cloudflared_url(std::string_view output);
// The URL of ngrok's first "started tunnel" line.
std::optional<std::string> ngrok_url(std::string_view output);

// Why ssh gave up, from its output, in words a user acts on (empty when none is recognised).
std::string ssh_failure(std::string_view output);

}  // namespace moccha::tunnel
