// Text the client subcommands share: rates, progress bars, names fitted to a column, and the
// refresh loop of the --watch listings.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace moccha::cli {

// "1.5 GiB", "12.0 KiB", "300 B".
std::string size(double bytes);
// "1.5 MiB/s", "12.0 KiB/s", "300 B/s".
std::string rate(double bytes_per_second);
// "[####----]" for `percent` of `width`.
std::string bar(double percent, int width);
// Characters (code points) of UTF-8 text.
std::size_t characters(std::string_view s);
// `s` in at most `width` characters, cut between characters with "...", padded to `width`.
std::string column(const std::string& s, std::size_t width);
// Calls `show` every `every` until interrupted, clearing a terminal first. Passing trouble
// (the agent restarting, a service stopped, the rate limit) is shown and waited out; a wrong
// key is not.
[[noreturn]] void watch_loop(const std::function<void()>& show, int every_seconds);

}  // namespace moccha::cli
