// Fixed-window request counting per key: at most `limit` requests in each window (a minute by
// default) that starts with a key's first request. Keys are opaque strings ("deluge|<key>",
// "auth|<address>"). Memory is bounded: windows that have ended are swept once a window
// and whenever the table doubles.
// Not thread-safe: the server calls it from its one I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

namespace moccha::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(Clock::duration window = std::chrono::minutes(1)) : window_(window) {}

  struct Decision {
    bool allowed = true;
    int limit = 0;
    int remaining = 0;      // after this request
    long long reset_s = 0;  // seconds until the window ends
  };

  // Counts one request for `key` against `limit` per window.
  Decision check(const std::string& key, int limit, Clock::time_point now);
  // Looks without counting (e.g. whether an address is already locked out).
  bool exhausted(const std::string& key, int limit, Clock::time_point now) const;
  // Counts one event for `key` with no limit and returns how many this window has seen (failed
  // authentications, which are slowed down rather than refused).
  int hit(const std::string& key, Clock::time_point now);

  std::size_t size() const { return windows_.size(); }

 private:
  struct Window {
    Clock::time_point start;
    int count = 0;
  };
  void sweep(Clock::time_point now);

  Clock::duration window_;
  std::unordered_map<std::string, Window> windows_;
  std::size_t sweep_at_ = 1024;
  Clock::time_point last_sweep_{};
};

}  // namespace moccha::http
