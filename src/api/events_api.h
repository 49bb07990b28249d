// GET /events: the event bus as Server-Sent Events. A client that sends Last-Event-ID (or
// ?last_event_id=) gets what it missed first, or a `reset` event when that has left the ring;
// a comment line every 15 s keeps proxies from closing an idle stream.
#pragma once

namespace moccha::services {
class EventBus;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_events_routes(http::Router& router, services::EventBus* bus);

}  // namespace moccha::api
