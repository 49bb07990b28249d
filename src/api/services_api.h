// Routes under /services: the catalog, status, start/stop/restart and configuration.
#pragma once

#include <functional>

namespace moccha::services {
class ServiceManager;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_services_routes(http::Router& router, services::ServiceManager* manager,
                         std::function<void(std::function<void()>)> blocking);

}  // namespace moccha::api
