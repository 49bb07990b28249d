#include "api/jdownloader_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/jdownloader/jd_downloads.h"

namespace moccha::api {

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

void add_jdownloader_routes(http::Router& router, jd::JdDownloads* d, Post daemons) {
  // Every call asks JD: on the daemons pool, its errors mapped at the one boundary.
  auto route = [&](const char* method, const char* path,
                   std::function<ApiResponse(const ApiRequest&)> f) {
    router.add({method, path,
                [daemons, f = std::move(f)](ApiRequest& req, Responder respond) {
                  answer_on(daemons, std::move(respond), [f, req] { return f(req); });
                },
                http::BodyKind::json});
  };
  route("POST", "/services/jdownloader/links", [d](const ApiRequest& req) {
    std::string job = d->add_links(req.json);
    return ApiResponse::ok({{"success", true}, {"message", "Links added"}, {"job_id", job}});
  });
  route("GET", "/services/jdownloader/linkgrabber",
        [d](const ApiRequest&) { return ApiResponse::ok(d->linkgrabber()); });
  route("POST", "/services/jdownloader/linkgrabber/confirm", [d](const ApiRequest& req) {
    d->confirm(req.json);
    return ApiResponse::ok({{"success", true}, {"message", "Moved to the download list"}});
  });
  route("POST", "/services/jdownloader/linkgrabber/clear", [d](const ApiRequest&) {
    d->clear();
    return ApiResponse::ok({{"success", true}, {"message", "Link grabber cleared"}});
  });
  route("GET", "/services/jdownloader/downloads",
        [d](const ApiRequest&) { return ApiResponse::ok(d->downloads()); });
  for (const char* action : {"pause", "resume", "remove"})
    route("POST", (std::string("/services/jdownloader/downloads/{id}/") + action).c_str(),
          [d, action = std::string(action)](const ApiRequest& req) {
            bool data = http::optional_bool(req.json, "remove_data").value_or(false);
            d->control(req.params.at("id"), action, data);
            return ApiResponse::ok({{"success", true}, {"message", "Done: " + action}});
          });
  for (const char* action : {"start", "stop", "pause"})
    route("POST", (std::string("/services/jdownloader/controller/") + action).c_str(),
          [d, action = std::string(action)](const ApiRequest& req) {
            d->controller(action, http::optional_bool(req.json, "paused").value_or(true));
            return ApiResponse::ok({{"success", true}, {"message", "Controller: " + action}});
          });
  route("GET", "/services/jdownloader/stats",
        [d](const ApiRequest&) { return ApiResponse::ok(d->stats()); });
}

}  // namespace moccha::api
