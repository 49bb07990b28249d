#include "system/gpu.h"

#include <dlfcn.h>

#include <charconv>
#include <cstdlib>
#include <mutex>

#include "system/process.h"

namespace moccha::sys {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <class T>
std::optional<T> number(std::string_view s) {
  s = trim(s);
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The NVML entry points we use, resolved once. NVML's ABI: opaque device handles, C structs.
struct Nvml {
  using Device = void*;
  struct Memory {
    unsigned long long total, free, used;
  };
  struct Utilization {
    unsigned int gpu, memory;
  };
  int (*init)() = nullptr;
  int (*count)(unsigned int*) = nullptr;
  int (*handle)(unsigned int, Device*) = nullptr;
  int (*name)(Device, char*, unsigned int) = nullptr;
  int (*memory)(Device, Memory*) = nullptr;
  int (*utilization)(Device, Utilization*) = nullptr;
  bool ok = false;
};

const Nvml& nvml() {
  static Nvml lib = [] {
    Nvml n;
    if (const char* off = std::getenv("MOCCHA_NO_NVML"); off && *off) return n;
    void* so = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!so) return n;
    auto sym = [so](const char* s) { return ::dlsym(so, s); };
    n.init = reinterpret_cast<int (*)()>(sym("nvmlInit_v2"));
    n.count = reinterpret_cast<int (*)(unsigned int*)>(sym("nvmlDeviceGetCount_v2"));
    n.handle = reinterpret_cast<int (*)(unsigned int, Nvml::Device*)>(
        sym("nvmlDeviceGetHandleByIndex_v2"));
    n.name = reinterpret_cast<int (*)(Nvml::Device, char*, unsigned int)>(sym("nvmlDeviceGetName"));
    n.memory =
        reinterpret_cast<int (*)(Nvml::Device, Nvml::Memory*)>(sym("nvmlDeviceGetMemoryInfo"));
    n.utilization = reinterpret_cast<int (*)(Nvml::Device, Nvml::Utilization*)>(
        sym("nvmlDeviceGetUtilizationRates"));
    n.ok = n.init && n.count && n.handle && n.name && n.memory && n.utilization && n.init() == 0;
    return n;
  }();
  return lib;
}

std::optional<std::vector<GpuInfo>> query_nvml() {
  const Nvml& n = nvml();
  if (!n.ok) return std::nullopt;
  unsigned int count = 0;
  if (n.count(&count) != 0) return std::nullopt;
  std::vector<GpuInfo> out;
  for (unsigned int i = 0; i < count; ++i) {
    Nvml::Device d = nullptr;
    if (n.handle(i, &d) != 0) continue;
    GpuInfo g;
    g.index = static_cast<int>(i);
    char name[96] = {};
    if (n.name(d, name, sizeof name) == 0) g.name = name;
    Nvml::Memory m{};
    if (n.memory(d, &m) == 0) {
      g.mem_used_mb = static_cast<long long>(m.used >> 20);
      g.mem_total_mb = static_cast<long long>(m.total >> 20);
    }
    Nvml::Utilization u{};
    if (n.utilization(d, &u) == 0) g.util_pct = static_cast<int>(u.gpu);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

std::vector<GpuInfo> parse_nvidia_smi(std::string_view csv) {
  std::vector<GpuInfo> out;
  std::size_t pos = 0;
  while (pos < csv.size()) {
    std::size_t end = csv.find('\n', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(pos, end - pos);
    pos = end + 1;
    std::vector<std::string_view> cols;
    std::size_t c = 0;
    while (true) {
      std::size_t comma = line.find(',', c);
      cols.push_back(trim(line.substr(c, comma == std::string_view::npos ? comma : comma - c)));
      if (comma == std::string_view::npos) break;
      c = comma + 1;
    }
    if (cols.size() != 5) continue;
    auto index = number<int>(cols[0]);
    auto used = number<long long>(cols[2]);
    auto total = number<long long>(cols[3]);
    if (!index || !used || !total || cols[1].empty()) continue;
    out.push_back(GpuInfo{*index, std::string(cols[1]), *used, *total, number<int>(cols[4])});
  }
  return out;
}

std::vector<std::string> nvidia_smi_command() {
  return {"nvidia-smi", "--query-gpu=index,name,memory.used,memory.total,utilization.gpu",
          "--format=csv,noheader,nounits"};
}

std::vector<GpuInfo> query_gpus() {
  if (auto gpus = query_nvml()) return *gpus;
  RunOptions opt;
  opt.argv = nvidia_smi_command();
  opt.timeout = std::chrono::seconds(5);
  opt.output_limit = 64 << 10;
  RunResult r = run(opt);
  if (!r.started || r.exit_code != 0) return {};
  return parse_nvidia_smi(r.out);
}

}  // namespace moccha::sys
