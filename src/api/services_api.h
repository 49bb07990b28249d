// Routes under /services: the catalog now; management and Deluge as they are built.
#pragma once

namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_services_routes(http::Router& router);

}  // namespace moccha::api
