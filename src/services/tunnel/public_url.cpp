#include "services/tunnel/public_url.h"

#include <regex>
#include <string>

namespace moccha::tunnel {
namespace {

std::optional<std::string> first(std::string_view text, const std::regex& re, int group = 0) {
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(text.begin(), text.end(), m, re)) return std::nullopt;
  return m[group].str();
}

}  // namespace

std::optional<int> ssh_forwarded_port(std::string_view output) {
  static const std::regex success(R"(remote forward success for: listen (?:[^ ,]*:)?(\d+),)");
  static const std::regex allocated(R"(Allocated port (\d+) for remote forward)");
  auto port = first(output, allocated, 1);
  if (!port) port = first(output, success, 1);
  if (!port) return std::nullopt;
  int p = std::stoi(*port);
  if (p <= 0 || p > 65535) return std::nullopt;
  return p;
}

std::optional<std::string> cloudflared_url(std::string_view output) {
  static const std::regex url(R"(https://[a-z0-9-]+\.trycloudflare\.com)");
  return first(output, url);
}

std::optional<std::string> ngrok_url(std::string_view output) {
  static const std::regex started(R"(msg="started tunnel"[^\n]*\burl=(https://[^\s"]+))");
  return first(output, started, 1);
}

std::string ssh_failure(std::string_view output) {
  struct Known {
    const char* says;
    const char* means;
  };
  static const Known known[] = {
      {"Permission denied", "the server refused the key (check ssh_user and ssh_key_file)"},
      {"Host key verification failed",
       "the server's host key is not the one recorded in known_hosts (a new server, or a "
       "man in the middle): remove its line from known_hosts if the change is expected"},
      {"Could not resolve hostname", "ssh_host does not resolve"},
      {"Connection refused", "nothing listens on ssh_host:ssh_port"},
      {"Connection timed out", "ssh_host:ssh_port does not answer"},
      {"remote port forwarding failed",
       "the server refused the forward (remote_port taken, or AllowTcpForwarding off)"},
      {"Warning: remote port forwarding failed",
       "the server refused the forward (remote_port taken, or AllowTcpForwarding off)"},
  };
  for (const auto& k : known)
    if (output.find(k.says) != std::string_view::npos) return k.means;
  return {};
}

}  // namespace moccha::tunnel
