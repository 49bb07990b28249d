// Samples CPU use and GPUs in the background so /status never waits for a reading.
// One thread of its own; readings are copied out under a mutex, so snapshot() is cheap and
// safe from any thread. The first CPU figure is ready one interval after start().
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "system/gpu.h"
#include "system/sysinfo.h"

namespace moccha::sys {

class Monitor {
 public:
  struct Snapshot {
    double cpu_pct = 0;
    std::vector<GpuInfo> gpus;
  };

  // `cpu_interval`: the window CPU use is measured over. GPUs are read every `gpu_interval`.
  Monitor(std::chrono::milliseconds cpu_interval, std::chrono::milliseconds gpu_interval);
  ~Monitor();  // stops and joins the thread

  void start();
  Snapshot snapshot() const;

 private:
  void loop();

  std::chrono::milliseconds cpu_interval_, gpu_interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Snapshot snap_;
  std::thread thread_;
};

}  // namespace moccha::sys
