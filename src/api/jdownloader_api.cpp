#include "api/jdownloader_api.h"

#include "http/router.h"

namespace moccha::api {

void add_jdownloader_routes(http::Router& router) {
  static constexpr std::pair<const char*, const char*> kPlanned[] = {
      {"POST", "/services/jdownloader/links"},
      {"GET", "/services/jdownloader/linkgrabber"},
      {"POST", "/services/jdownloader/linkgrabber/confirm"},
      {"POST", "/services/jdownloader/linkgrabber/clear"},
      {"GET", "/services/jdownloader/downloads"},
      {"POST", "/services/jdownloader/downloads/{id}/pause"},
      {"POST", "/services/jdownloader/downloads/{id}/resume"},
      {"POST", "/services/jdownloader/downloads/{id}/remove"},
      {"POST", "/services/jdownloader/controller/start"},
      {"POST", "/services/jdownloader/controller/stop"},
      {"POST", "/services/jdownloader/controller/pause"},
      {"GET", "/services/jdownloader/stats"},
  };
  for (auto [method, path] : kPlanned)
    router.add({method, path, http::sync([](const http::ApiRequest&) {
                  return http::ApiResponse::error(
                      501, "not built in this version of moccha",
                      "JDownloader's daemon, config and API client are built (start, stop, "
                      "status, config); its links, grabber, downloads and controller endpoints "
                      "are not yet");
                }),
                http::BodyKind::json});
}

}  // namespace moccha::api
