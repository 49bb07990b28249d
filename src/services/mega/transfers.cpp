#include "services/mega/transfers.h"

#include <algorithm>

#include "core/log.h"
#include "core/time_util.h"

namespace moccha::mega {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {
constexpr int kMaxWorkers = 8;
constexpr std::size_t kKeptFinished = 200;
}  // namespace

void RateLimit::set(long long bytes_per_second) {
  std::lock_guard lock(mu_);
  rate_ = std::max(0LL, bytes_per_second);
  allowance_ = 0;
  last_ = Clock::now();
}

bool RateLimit::take(std::size_t bytes, const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  while (rate_ > 0) {
    auto now = Clock::now();
    allowance_ = std::min(allowance_ + std::chrono::duration<double>(now - last_).count() * rate_,
                          static_cast<double>(rate_));  // at most a second's burst
    last_ = now;
    if (allowance_ >= 0) {
      allowance_ -= static_cast<double>(bytes);  // may go below 0: the next waits it off
      return true;
    }
    if (stop) return false;
    double wait = -allowance_ / static_cast<double>(rate_);
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(wait, 0.1)));
    lock.lock();
  }
  return !stop;
}

void Transfer::add_done(long long bytes) {
  done += bytes;
}

Transfers::Transfers(int parallel, std::function<void(const json&)> on_end)
    : parallel_(std::clamp(parallel, 1, kMaxWorkers)), on_end_(std::move(on_end)) {
  for (int i = 0; i < kMaxWorkers; ++i) workers_.emplace_back([this] { worker(); });
}

Transfers::~Transfers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& t : all_) t->cancel_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

std::string Transfers::submit(std::string direction, std::string name, long long total, json extra,
                              Work work) {
  auto t = std::make_shared<Transfer>();
  t->direction = std::move(direction);
  t->name = std::move(name);
  t->total = total;
  t->extra = std::move(extra);
  t->created = iso8601_utc_now();
  std::string id;
  {
    std::lock_guard lock(mu_);
    id = t->id = "t" + std::to_string(next_id_++);
    all_.push_back(t);
    by_id_[id] = t;
    queue_.push_back({t, std::move(work)});
    // Forget the oldest finished ones beyond the bound.
    while (all_.size() > kKeptFinished) {
      auto it = std::find_if(all_.begin(), all_.end(), [](const auto& x) {
        return x->state != "queued" && x->state != "active";
      });
      if (it == all_.end()) break;
      by_id_.erase((*it)->id);
      all_.erase(it);
    }
  }
  cv_.notify_all();
  return id;
}

void Transfers::worker() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || (!queue_.empty() && running_ < parallel_); });
    if (stopping_) return;
    Queued q = std::move(queue_.front());
    queue_.pop_front();
    Transfer& t = *q.transfer;
    if (t.cancel_) continue;  // cancelled while queued: already marked
    t.state = "active";
    t.started = Clock::now();
    ++running_;
    lock.unlock();
    std::string state = "completed", error;
    try {
      q.work(t);
      if (t.cancel_) state = "canceled";
    } catch (const std::exception& e) {
      state = t.cancel_ ? "canceled" : "failed";
      if (!t.cancel_) error = e.what();
    }
    lock.lock();
    --running_;
    t.state = state;
    t.error = error;
    t.finished = iso8601_utc_now();
    if (state == "failed") log::warn("MEGA {} of '{}' failed: {}", t.direction, t.name, error);
    json ended = view(t);
    lock.unlock();
    cv_.notify_all();
    if (on_end_) on_end_(ended);
    lock.lock();
  }
}

json Transfers::view(Transfer& t) {
  auto now = Clock::now();
  long long done = t.done, total = t.total;
  double speed = 0;
  if (t.state == "active") {
    t.samples.emplace_back(now, done);
    while (t.samples.size() > 2 && now - t.samples.front().first > std::chrono::seconds(5))
      t.samples.pop_front();
    // Over the window's oldest sample; a window too short yet counts from the start.
    auto [when, bytes] = t.samples.front();
    if (now - when < std::chrono::milliseconds(200)) when = t.started, bytes = 0;
    double secs = std::chrono::duration<double>(now - when).count();
    if (secs > 0) speed = std::max(0.0, static_cast<double>(done - bytes) / secs);
  }
  json eta = nullptr;
  if (t.state == "active" && speed > 0 && total >= done)
    eta = static_cast<long long>((total - done) / speed + 0.5);
  double progress = total > 0 ? 100.0 * done / total : (t.state == "completed" ? 100.0 : 0.0);
  json out = {{"id", t.id},
              {"direction", t.direction},
              {"name", t.name},
              {"state", t.state},
              {"progress", std::min(100.0, progress)},
              {"bytes_total", total},
              {"bytes_done", done},
              {"speed", static_cast<long long>(speed)},
              {"eta", eta},
              {"error", t.error.empty() ? json() : json(t.error)},
              {"created", t.created},
              {"finished", t.finished.empty() ? json() : json(t.finished)}};
  for (auto& [k, v] : t.extra.items()) out[k] = v;
  return out;
}

json Transfers::list() {
  std::lock_guard lock(mu_);
  json out = json::array();
  for (auto& t : all_) out.push_back(view(*t));
  return out;
}

std::optional<json> Transfers::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return view(*it->second);
}

bool Transfers::cancel(const std::string& id) {
  std::shared_ptr<Transfer> t;
  json ended;
  {
    std::lock_guard lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    t = it->second;
    if (t->state != "queued" && t->state != "active") return true;
    t->cancel_ = true;
    if (t->state == "queued") {  // never started: it ends here
      t->state = "canceled";
      t->finished = iso8601_utc_now();
      ended = view(*t);
    }
  }
  if (!ended.is_null() && on_end_) on_end_(ended);
  return true;
}

void Transfers::cancel_all() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (auto& t : all_) ids.push_back(t->id);
  }
  for (auto& id : ids) cancel(id);
}

void Transfers::set_parallel(int n) {
  {
    std::lock_guard lock(mu_);
    parallel_ = std::clamp(n, 1, kMaxWorkers);
  }
  cv_.notify_all();
}

}  // namespace moccha::mega
