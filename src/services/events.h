// The one event bus: engines and the manager publish (`service.*`, `download.*`,
// `task.finished`); /events (Server-Sent Events) and webhooks subscribe. Keeps a ring of the
// newest events so a client that reconnects with Last-Event-ID gets what it missed. Ids start
// from the agent's start time in milliseconds times 1000 and increase by one, so they also
// increase across agent restarts: an id from before a restart is older than the ring, and its
// client is told to reset. Thread-safe; publishing never blocks on a subscriber.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace moccha::services {

struct Event {
  std::int64_t id = 0;
  std::string type;
  nlohmann::json data;  // {"type", "time", "service", "id", ...}
  std::string sse;      // the framed text: "id: N\nevent: TYPE\ndata: {...}\n\n"
};

class EventBus {
 public:
  explicit EventBus(std::size_t ring = 4096);
  ~EventBus();  // ends every waiting stream

  // `fields` are merged into {"type", "time"}; `service` and `id` are the usual ones.
  void publish(const std::string& type, nlohmann::json fields);

  // In-process subscribers (webhooks): called on a thread of the bus, in order, one at a time.
  // Returns a token for unsubscribe(), which waits for a call in progress to end.
  int subscribe(std::function<void(const Event&)> listener);
  void unsubscribe(int token);

  // What a stream sends next after `after`: the events it has not seen, or `reset` when they
  // are no longer in the ring, or (after `heartbeat` with nothing new) neither, or `closed`.
  struct Batch {
    std::vector<Event> events;
    bool reset = false;
    bool closed = false;
    std::int64_t upto = 0;  // the newest id when collected: where a reset client goes on from
  };
  // Calls `deliver` exactly once, from any thread: at once if something is there, else when
  // something is published, the heartbeat passes, or the bus closes.
  void wait_after(std::int64_t after, std::chrono::milliseconds heartbeat,
                  std::function<void(Batch)> deliver);
  std::int64_t last_id() const;
  // Ends every stream (agent shutdown): their waits complete with `closed`.
  void close();

 private:
  struct Waiter {
    std::int64_t after;
    std::chrono::steady_clock::time_point due;
    std::function<void(Batch)> deliver;
  };
  Batch collect_locked(std::int64_t after) const;
  void loop();

  std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> ring_;
  std::int64_t next_id_;
  std::list<Waiter> waiters_;
  std::mutex listen_mu_;  // held while listeners run; taken before mu_
  std::map<int, std::function<void(const Event&)>> listeners_;
  int next_token_ = 0;
  std::deque<Event> to_listeners_;
  bool closed_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace moccha::services
