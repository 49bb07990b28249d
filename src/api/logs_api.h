// Routes under /logs: the agent's log and each service's (its daemon's log and output), read
// by byte ranges so that a page can follow one: GET /logs lists them, GET /logs/{name} reads
// `limit` bytes from `offset` (no offset: the last `limit` bytes) and says where to go on.
#pragma once

#include <string>

#include "core/worker_pool.h"

namespace moccha::services {
class ServiceManager;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct LogsApiDeps {
  std::string agent_log;  // config log_file
  services::ServiceManager* services = nullptr;
  Post pool;  // file reads
};

void add_logs_routes(http::Router& router, LogsApiDeps deps);

}  // namespace moccha::api
