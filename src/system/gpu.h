// GPU readings: NVML (libnvidia-ml.so.1, loaded at run time so the binary never depends on
// it) or, failing that, `nvidia-smi --query-gpu`. A machine without a GPU gets an empty list,
// never an error. Blocking (nvidia-smi can take a second): call from a worker thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moccha::sys {

struct GpuInfo {
  int index = 0;
  std::string name;
  long long mem_used_mb = 0;
  long long mem_total_mb = 0;
  std::optional<int> util_pct;  // some GPUs report "[N/A]"
};

// Parses `nvidia-smi --query-gpu=index,name,memory.used,memory.total,utilization.gpu
// --format=csv,noheader,nounits`. Malformed lines are skipped.
std::vector<GpuInfo> parse_nvidia_smi(std::string_view csv);

// The arguments that output is produced with.
std::vector<std::string> nvidia_smi_command();

// Queries NVML, then nvidia-smi. Empty when there is no GPU or no driver.
std::vector<GpuInfo> query_gpus();

}  // namespace moccha::sys
