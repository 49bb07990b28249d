// Readings of the machine from /proc and statvfs, as pure parsers (tested on fixture files)
// plus thin readers of the live files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moccha::sys {

// The aggregate "cpu" line of /proc/stat, in clock ticks.
struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};
std::optional<CpuTimes> parse_proc_stat(std::string_view text);
// Busy share between two readings, 0..100; 0 when no time passed.
double cpu_percent(const CpuTimes& before, const CpuTimes& after);

struct Memory {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;
  std::uint64_t used_bytes() const { return total_bytes - available_bytes; }
};
std::optional<Memory> parse_meminfo(std::string_view text);

struct Disk {
  std::uint64_t total_bytes = 0;
  std::uint64_t free_bytes = 0;  // available to unprivileged users, as df shows
};
std::optional<Disk> disk_usage(const std::string& path);

// Bytes received and sent by every interface but loopback, from /proc/net/dev.
struct NetBytes {
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
};
std::optional<NetBytes> parse_net_dev(std::string_view text);

// Resident set size of this process, from /proc/self/status (VmRSS).
std::optional<std::uint64_t> parse_rss_bytes(std::string_view proc_status);

std::optional<std::string> read_file(const std::string& path);
unsigned cpu_count();

}  // namespace moccha::sys
