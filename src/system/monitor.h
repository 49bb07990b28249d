// Samples CPU, memory, disk and GPUs in the background so /status never waits for a reading
// (nor opens a file: under load /status costs what any small JSON reply costs).
// One thread of its own; readings are copied out under a mutex, so snapshot() is cheap and
// safe from any thread. The first CPU figure is ready one interval after start().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "system/gpu.h"
#include "system/sysinfo.h"

namespace moccha::sys {

class Monitor {
 public:
  struct Snapshot {
    double cpu_pct = 0;
    unsigned cpu_count = 1;  // online CPUs (sysconf reads /sys each time: keep it here)
    Memory memory;
    Disk disk;  // of the watched path
    std::vector<GpuInfo> gpus;
    NetBytes net;                       // totals since boot, loopback left out
    std::uint64_t agent_rss_bytes = 0;  // this process's
    std::chrono::system_clock::time_point taken;
  };

  // `cpu_interval`: the window CPU use is measured over; memory and the disk holding
  // `disk_path` are read as often. GPUs are read every `gpu_interval`.
  Monitor(std::string disk_path, std::chrono::milliseconds cpu_interval,
          std::chrono::milliseconds gpu_interval);
  ~Monitor();  // stops and joins the thread

  void start();
  Snapshot snapshot() const;
  // Calls `f(true)` once, on the monitor's thread, after the next CPU sample; or `f(false)`
  // when the waits are closed first (or already). `f` must not block.
  void after_next_sample(std::function<void(bool)> f);
  // Ends every wait now and refuses new ones (the agent is stopping: streams end).
  void close_waits();

 private:
  void loop();
  void read_memory_and_disk();  // under mu_

  std::string disk_path_;
  std::chrono::milliseconds cpu_interval_, gpu_interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Snapshot snap_;
  std::vector<std::function<void(bool)>> waiting_;
  bool waits_closed_ = false;
  std::thread thread_;
};

}  // namespace moccha::sys
