#include "api/services_api.h"

#include "http/router.h"
#include "services/catalog.h"

namespace moccha::api {

void add_services_routes(http::Router& router) {
  router.add({"GET", "/services", http::sync([](const http::ApiRequest&) {
                const auto& names = services::known_services();
                return http::ApiResponse::ok(
                    {{"success", true}, {"services", names}, {"count", names.size()}});
              })});
}

}  // namespace moccha::api
