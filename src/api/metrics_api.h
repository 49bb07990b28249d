// GET /metrics: the agent's Prometheus metrics in the text exposition format, taken with the
// API key or with metrics.token (a scraper's own credential, good for this route only).
#pragma once

#include <string>

#include "core/worker_pool.h"

namespace moccha::metrics {
class Registry;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct MetricsApiDeps {
  metrics::Registry* registry;  // outlives the router
  std::string token;            // empty: the API key only
  Post pool;                    // collectors may block (an engine's RPC)
};

void add_metrics_routes(http::Router& router, MetricsApiDeps deps);

}  // namespace moccha::api
