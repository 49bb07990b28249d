#include "api/events_api.h"

#include <charconv>
#include <memory>

#include "api/work.h"
#include "http/router.h"
#include "services/events.h"

namespace moccha::api {

namespace s = http::schema;
namespace events_routes {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;
using services::EventBus;

constexpr std::chrono::seconds kHeartbeat{15};

class EventStream : public http::BodyStream {
 public:
  EventStream(EventBus* bus, std::int64_t after, bool first_is_reset)
      : bus_(bus), after_(after), pending_reset_(first_is_reset) {}

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    if (!started_) {
      // The client's retry delay, and a first byte so it sees the stream is open.
      started_ = true;
      std::string first = "retry: 3000\n: moccha events\n\n";
      if (pending_reset_) first += reset_event();
      pending_reset_ = false;
      deliver(std::move(first));
      return;
    }
    // The server keeps this stream alive until `deliver` is called: `this` stays valid.
    bus_->wait_after(after_, kHeartbeat, [this, deliver = std::move(deliver)](EventBus::Batch b) {
      if (b.closed) return deliver(std::nullopt);
      std::string text;
      if (b.reset) {
        text += reset_event();
        after_ = b.upto;
      }
      for (const auto& e : b.events) {
        text += e.sse;
        after_ = e.id;
      }
      if (text.empty()) text = ": heartbeat\n\n";
      deliver(std::move(text));
    });
  }

 private:
  static std::string reset_event() {
    json data = {
        {"type", "reset"},
        {"reason", "the events after the id you gave are no longer kept: reload the state"}};
    return "event: reset\ndata: " + data.dump() + "\n\n";
  }

  EventBus* bus_;
  std::int64_t after_;
  bool pending_reset_;
  bool started_ = false;
};

// GET /events: from the id the client gives (header or query), else from now.
ApiResponse open_stream(EventBus* bus, const ApiRequest& req) {
  std::string last = req.query_or("last_event_id");
  if (auto h = req.headers.find("last-event-id"); h != req.headers.end()) last = h->second;
  std::int64_t after = bus->last_id();
  bool reset = false;
  if (!last.empty()) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(last.data(), last.data() + last.size(), id);
    if (ec != std::errc() || p != last.data() + last.size() || id < 0)
      throw ApiError(400, "bad Last-Event-ID", "an event id is a number");
    // An id from the future is from another agent: start afresh.
    if (id > after)
      reset = true;
    else
      after = id;
  }
  ApiResponse r;
  r.content_type = "text/event-stream";
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  r.stream = std::make_shared<EventStream>(bus, after, reset);
  return r;
}

}  // namespace
}  // namespace events_routes

void add_events_routes(http::Router& router, services::EventBus* bus) {
  using namespace events_routes;
  router.add({"GET", "/events", answers(bus, open_stream)},
             {"events",
              "The event stream (Server-Sent Events): service.*, download.*, task.finished",
              {{"last_event_id", "Replay what came after this id (or the Last-Event-ID header)"}},
              nullptr,
              nullptr,
              "text/event-stream",
              {400}});
}

}  // namespace moccha::api
