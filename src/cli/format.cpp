#include "cli/format.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/client.h"

namespace moccha::cli {

std::string size(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string rate(double bps) {
  return size(bps) + "/s";
}

std::string bar(double pct, int width) {
  int filled = static_cast<int>(pct / 100 * width + 0.5);
  filled = std::max(0, std::min(width, filled));
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

std::size_t characters(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string column(const std::string& s, std::size_t width) {
  std::string out = s;
  if (characters(s) > width) {
    std::size_t kept = 0, i = 0;
    for (; i < s.size(); ++i)
      if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && kept++ == width - 3) break;
    out = s.substr(0, i) + "...";
  }
  return out + std::string(width - characters(out), ' ');
}

void watch_loop(const std::function<void()>& show, int every_seconds) {
  bool tty = ::isatty(1);
  while (true) {
    auto pause = std::chrono::seconds(every_seconds);
    try {
      if (tty) fmt::print("\x1b[H\x1b[2J");
      show();
    } catch (const ClientError& e) {
      if (e.status == 401 || e.status == 403) throw;
      fmt::print("{} (trying again)\n", e.what());
      if (e.status == 429) pause = std::chrono::seconds(10);
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace moccha::cli
