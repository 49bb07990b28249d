#include "system/sysinfo.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

namespace moccha::sys {
namespace {

// The value of "Key:   1234 kB" lines, in bytes.
std::optional<std::uint64_t> kb_field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      std::string_view rest = line.substr(key.size() + 1);
      std::size_t d = rest.find_first_of("0123456789");
      if (d == std::string_view::npos) return std::nullopt;
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data() + d, rest.data() + rest.size(), v);
      if (ec != std::errc()) return std::nullopt;
      return v * 1024;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<CpuTimes> parse_proc_stat(std::string_view text) {
  if (!text.starts_with("cpu ")) return std::nullopt;
  std::string line(text.substr(0, text.find('\n')));
  std::istringstream in(line.substr(4));
  // user nice system idle iowait irq softirq steal (guest, guest_nice are inside user/nice)
  std::uint64_t v[8] = {};
  int n = 0;
  while (n < 8 && in >> v[n]) ++n;
  if (n < 4) return std::nullopt;
  CpuTimes t;
  for (int i = 0; i < n; ++i) t.total += v[i];
  t.busy = t.total - v[3] - (n > 4 ? v[4] : 0);
  return t;
}

double cpu_percent(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0.0;
  double pct = 100.0 * static_cast<double>(after.busy - before.busy) /
               static_cast<double>(after.total - before.total);
  return pct > 100.0 ? 100.0 : pct;
}

std::optional<Memory> parse_meminfo(std::string_view text) {
  auto total = kb_field(text, "MemTotal");
  if (!total) return std::nullopt;
  auto avail = kb_field(text, "MemAvailable");
  if (!avail) {  // kernels before 3.14: approximate as the kernel's own formula would
    auto free = kb_field(text, "MemFree").value_or(0);
    avail = free + kb_field(text, "Buffers").value_or(0) + kb_field(text, "Cached").value_or(0);
  }
  if (*avail > *total) avail = total;
  return Memory{*total, *avail};
}

std::optional<Disk> disk_usage(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return std::nullopt;
  return Disk{static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize,
              static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize};
}

std::optional<NetBytes> parse_net_dev(std::string_view text) {
  // "  eth0: RX-bytes packets errs drop fifo frame compressed multicast TX-bytes ..."
  NetBytes total;
  bool any = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    std::uint64_t v[9] = {};
    for (auto& f : v)
      if (!(fields >> f)) return std::nullopt;
    any = true;
    if (name == "lo") continue;
    total.rx += v[0];
    total.tx += v[8];
  }
  if (!any) return std::nullopt;
  return total;
}

std::optional<std::uint64_t> parse_rss_bytes(std::string_view proc_status) {
  return kb_field(proc_status, "VmRSS");
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned cpu_count() {
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace moccha::sys
