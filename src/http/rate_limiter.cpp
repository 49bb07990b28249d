#include "http/rate_limiter.h"

#include <algorithm>
#include <limits>

namespace moccha::http {

RateLimiter::Decision RateLimiter::check(const std::string& key, int limit, Clock::time_point now) {
  if (windows_.size() >= sweep_at_ || now - last_sweep_ >= window_) sweep(now);
  Window& w = windows_[key];
  if (w.count == 0 || now - w.start >= window_) w = Window{now, 0};
  Decision d;
  d.limit = limit;
  d.reset_s = std::max<long long>(
      1, std::chrono::ceil<std::chrono::seconds>(w.start + window_ - now).count());
  if (w.count >= limit) {
    d.allowed = false;
    d.remaining = 0;
    return d;
  }
  ++w.count;
  d.remaining = limit - w.count;
  return d;
}

int RateLimiter::hit(const std::string& key, Clock::time_point now) {
  if (windows_.size() >= sweep_at_ || now - last_sweep_ >= window_) sweep(now);
  Window& w = windows_[key];
  if (w.count == 0 || now - w.start >= window_) w = Window{now, 0};
  if (w.count < std::numeric_limits<int>::max()) ++w.count;
  return w.count;
}

bool RateLimiter::exhausted(const std::string& key, int limit, Clock::time_point now) const {
  auto it = windows_.find(key);
  if (it == windows_.end()) return limit <= 0;
  return now - it->second.start < window_ && it->second.count >= limit;
}

void RateLimiter::sweep(Clock::time_point now) {
  last_sweep_ = now;
  std::erase_if(windows_, [&](const auto& kv) { return now - kv.second.start >= window_; });
  // Grow the threshold with the live set so a large steady population is not swept each time.
  sweep_at_ = std::max<std::size_t>(1024, windows_.size() * 2);
}

}  // namespace moccha::http
