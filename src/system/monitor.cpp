#include "system/monitor.h"

namespace moccha::sys {

Monitor::Monitor(std::string disk_path, std::chrono::milliseconds cpu_interval,
                 std::chrono::milliseconds gpu_interval)
    : disk_path_(std::move(disk_path)), cpu_interval_(cpu_interval), gpu_interval_(gpu_interval) {
  std::lock_guard lock(mu_);
  read_memory_and_disk();  // figures from the first /status on
}

void Monitor::read_memory_and_disk() {
  if (auto text = read_file("/proc/meminfo"))
    if (auto m = parse_meminfo(*text)) snap_.memory = *m;
  if (auto d = disk_usage(disk_path_)) snap_.disk = *d;
  snap_.cpu_count = cpu_count();
  if (auto text = read_file("/proc/net/dev"))
    if (auto n = parse_net_dev(*text)) snap_.net = *n;
  if (auto text = read_file("/proc/self/status"))
    if (auto rss = parse_rss_bytes(*text)) snap_.agent_rss_bytes = *rss;
  snap_.taken = std::chrono::system_clock::now();
}

Monitor::~Monitor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Waits still open are dropped, not called: what they would reach may be gone by now.
}

void Monitor::after_next_sample(std::function<void(bool)> f) {
  {
    std::lock_guard lock(mu_);
    if (!waits_closed_) {
      waiting_.push_back(std::move(f));
      return;
    }
  }
  f(false);
}

void Monitor::close_waits() {
  std::vector<std::function<void(bool)>> waiting;
  {
    std::lock_guard lock(mu_);
    waits_closed_ = true;
    waiting.swap(waiting_);
  }
  for (auto& f : waiting) f(false);
}

void Monitor::start() {
  thread_ = std::thread([this] { loop(); });
}

Monitor::Snapshot Monitor::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

void Monitor::loop() {
  using Clock = std::chrono::steady_clock;
  std::optional<CpuTimes> last;
  if (auto text = read_file("/proc/stat")) last = parse_proc_stat(*text);
  auto next_gpu = Clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (Clock::now() >= next_gpu) {
      lock.unlock();
      auto gpus = query_gpus();
      lock.lock();
      snap_.gpus = std::move(gpus);
      next_gpu = Clock::now() + gpu_interval_;
    }
    if (cv_.wait_for(lock, cpu_interval_, [this] { return stop_; })) break;
    lock.unlock();
    std::optional<CpuTimes> now;
    if (auto text = read_file("/proc/stat")) now = parse_proc_stat(*text);
    lock.lock();
    if (last && now) snap_.cpu_pct = cpu_percent(*last, *now);
    read_memory_and_disk();
    last = now;
    std::vector<std::function<void(bool)>> waiting;
    waiting.swap(waiting_);
    lock.unlock();
    for (auto& f : waiting) f(true);
    lock.lock();
  }
}

}  // namespace moccha::sys
