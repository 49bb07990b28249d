#include "services/events.h"

#include "core/log.h"
#include "core/time_util.h"

namespace moccha::services {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

EventBus::EventBus(std::size_t ring)
    : capacity_(ring),
      next_id_(std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() *
               1000),
      thread_([this] { loop(); }) {}

EventBus::~EventBus() {
  close();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventBus::publish(const std::string& type, json fields) {
  json data = {{"type", type}, {"time", iso8601_utc_now()}};
  if (fields.is_object()) data.update(fields);
  std::list<Waiter> ready;
  {
    std::lock_guard lock(mu_);
    Event e;
    e.id = next_id_++;
    e.type = type;
    e.sse = "id: " + std::to_string(e.id) + "\nevent: " + type +
            "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
    e.data = std::move(data);
    ring_.push_back(e);
    if (ring_.size() > capacity_) ring_.pop_front();
    if (!listeners_.empty()) to_listeners_.push_back(std::move(e));
    ready.splice(ready.end(), waiters_);
  }
  cv_.notify_all();
  for (auto& w : ready) {
    Batch b;
    {
      std::lock_guard lock(mu_);
      b = collect_locked(w.after);
    }
    w.deliver(std::move(b));
  }
}

int EventBus::subscribe(std::function<void(const Event&)> listener) {
  std::lock_guard listen(listen_mu_);
  std::lock_guard lock(mu_);
  listeners_[++next_token_] = std::move(listener);
  return next_token_;
}

void EventBus::unsubscribe(int token) {
  std::lock_guard listen(listen_mu_);
  std::lock_guard lock(mu_);
  listeners_.erase(token);
}

EventBus::Batch EventBus::collect_locked(std::int64_t after) const {
  Batch b;
  b.upto = next_id_ - 1;
  // A gap between what the client saw and the oldest event kept (or, with none kept, this
  // agent's first): it missed some.
  std::int64_t oldest = ring_.empty() ? next_id_ : ring_.front().id;
  if (after < oldest - 1) b.reset = true;
  if (ring_.empty() || after >= ring_.back().id) return b;
  for (const auto& e : ring_)
    if (e.id > after) b.events.push_back(e);
  return b;
}

void EventBus::wait_after(std::int64_t after, std::chrono::milliseconds heartbeat,
                          std::function<void(Batch)> deliver) {
  Batch b;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      b.closed = true;
    } else {
      b = collect_locked(after);
      if (b.events.empty() && !b.reset) {
        waiters_.push_back({after, Clock::now() + heartbeat, std::move(deliver)});
        cv_.notify_all();
        return;
      }
    }
  }
  deliver(std::move(b));
}

std::int64_t EventBus::last_id() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

void EventBus::close() {
  std::list<Waiter> all;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    all.splice(all.end(), waiters_);
  }
  for (auto& w : all) w.deliver(Batch{{}, false, true, 0});
}

void EventBus::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Listeners first, in publish order, outside mu_ (a listener may publish).
    while (!to_listeners_.empty()) {
      Event e = std::move(to_listeners_.front());
      to_listeners_.pop_front();
      lock.unlock();
      {
        std::lock_guard listen(listen_mu_);
        for (auto& [token, l] : listeners_) {
          try {
            l(e);
          } catch (const std::exception& x) {
            log::error("event listener failed on {}: {}", e.type, x.what());
          }
        }
      }
      lock.lock();
    }
    // Heartbeats: waiters whose time passed get an empty batch.
    auto now = Clock::now();
    std::list<Waiter> due;
    auto next = now + std::chrono::seconds(1);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->due <= now) {
        auto cur = it++;
        due.splice(due.end(), waiters_, cur);
      } else {
        next = std::min(next, it->due);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& w : due) w.deliver(Batch{});
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next, [this] { return stop_ || !to_listeners_.empty(); });
  }
}

}  // namespace moccha::services
