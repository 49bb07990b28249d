// Routes for the agent itself: GET /health (no key), GET /status.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace moccha::sys {
class Monitor;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct SystemApiDeps {
  std::chrono::steady_clock::time_point started;
  const sys::Monitor* monitor;  // outlives the router
  // Counters owned by the execution engine; until it exists they answer 0.
  std::function<long long()> executions = [] { return 0LL; };
  std::function<long long()> variables = [] { return 0LL; };
};

void add_system_routes(http::Router& router, SystemApiDeps deps);

}  // namespace moccha::api
