// Routes under /services: the catalog, status, start/stop/restart and configuration.
#pragma once

#include <functional>

#include "core/worker_pool.h"

namespace moccha::services {
class ServiceManager;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct ServicesPools {
  Post jobs;     // start, stop, restart: may take minutes (an install)
  Post daemons;  // status and config: ask a daemon, which may hang
};

void add_services_routes(http::Router& router, services::ServiceManager* manager,
                         ServicesPools pools);

}  // namespace moccha::api
