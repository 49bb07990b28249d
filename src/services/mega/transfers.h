// MEGA's transfers as a queue: each is a piece of work (an upload or a download, in
// transfer_io.cpp) run by one of `parallel` workers, with its progress, speed, ETA and end
// kept for GET /services/mega/transfers. Cancelling asks the work to stop at its next piece;
// the speed limits are shared by all transfers of a direction and change live.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace moccha::mega {

// A token bucket: take(n) waits until n more bytes fit under the rate (bytes/s, 0 = none).
class RateLimit {
 public:
  void set(long long bytes_per_second);
  // Waits (in steps of at most 100 ms) while `stop` stays false; false if it was set.
  bool take(std::size_t bytes, const std::atomic<bool>& stop);

 private:
  std::mutex mu_;
  long long rate_ = 0;
  double allowance_ = 0;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// What the work sees of its entry.
class Transfer {
 public:
  void add_done(long long bytes);  // negative: bytes a resume receives again
  bool cancelled() const { return cancel_; }
  const std::atomic<bool>& cancel_flag() const { return cancel_; }

 private:
  friend class Transfers;
  std::string id, direction, name, state = "queued", error;
  nlohmann::json extra;  // what the request said: path, link, local_dir, ...
  std::atomic<long long> total{0}, done{0};
  std::atomic<bool> cancel_{false};
  std::string created, finished;
  std::chrono::steady_clock::time_point started;
  // speed: the bytes done at the last few samples
  std::deque<std::pair<std::chrono::steady_clock::time_point, long long>> samples;
};

class Transfers {
 public:
  using Work = std::function<void(Transfer&)>;  // throws on failure
  // `on_end(transfer json)` after each one ends (completed, failed or canceled).
  Transfers(int parallel, std::function<void(const nlohmann::json&)> on_end);
  ~Transfers();  // cancels what runs and waits for it

  std::string submit(std::string direction, std::string name, long long total, nlohmann::json extra,
                     Work work);
  nlohmann::json list();
  std::optional<nlohmann::json> get(const std::string& id);
  // false when there is no such transfer; a finished one is left as it is.
  bool cancel(const std::string& id);
  void cancel_all();
  void set_parallel(int n);
  RateLimit& download_limit() { return down_; }
  RateLimit& upload_limit() { return up_; }

 private:
  struct Queued {
    std::shared_ptr<Transfer> transfer;
    Work work;
  };
  void worker();
  nlohmann::json view(Transfer& t);
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Queued> queue_;
  std::vector<std::shared_ptr<Transfer>> all_;  // newest last; finished ones kept (bounded)
  std::map<std::string, std::shared_ptr<Transfer>> by_id_;
  int parallel_, running_ = 0;
  bool stopping_ = false;
  unsigned long next_id_ = 1;
  std::vector<std::thread> workers_;
  std::function<void(const nlohmann::json&)> on_end_;
  RateLimit down_, up_;
};

}  // namespace moccha::mega
