#include "api/metrics_api.h"

#include "api/work.h"
#include "core/metrics.h"
#include "http/admission.h"
#include "http/router.h"

namespace moccha::api {

void add_metrics_routes(http::Router& router, MetricsApiDeps deps) {
  http::Route route{
      "GET", "/metrics",
      [registry = deps.registry, pool = deps.pool](http::ApiRequest&, http::Responder respond) {
        answer_on(pool, std::move(respond), [registry] {
          http::ApiResponse r;
          r.content_type = "text/plain; version=0.0.4; charset=utf-8";
          r.body = registry->render();
          return r;
        });
      }};
  route.also_accepts = [token = deps.token](std::string_view presented) {
    return http::constant_time_equal(presented, token);  // false for an empty token
  };
  route.doc = {"agent", "Prometheus metrics (text format 0.0.4), with the API key or metrics.token",
               {},      nullptr,
               nullptr, "text/plain"};
  router.add(std::move(route));
}

}  // namespace moccha::api
