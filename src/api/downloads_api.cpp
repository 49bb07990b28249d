#include "api/downloads_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/downloads.h"

namespace moccha::api {

namespace s = http::schema;

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

namespace downloads_routes {
namespace {

using Q = services::DownloadQueue*;

// The handlers, one each, run on the daemons pool (each asks the engines); the table is below.

ApiResponse list(Q queue, const ApiRequest& req) {
  ApiResponse r;
  r.body = queue->list_body(req.query_or("state"), req.query_or("service"));
  return r;
}

ApiResponse add(Q queue, const ApiRequest& req) {
  return ApiResponse::ok(queue->add(req.json));
}

// pause, resume or cancel, from the path
ApiResponse act(Q queue, const ApiRequest& req) {
  std::string id = req.params.at("id");
  std::string action = req.path.substr(req.path.rfind('/') + 1);
  queue->act(id, action);
  return ApiResponse::ok({{"success", true}, {"id", id}, {"action", action}});
}

}  // namespace
}  // namespace downloads_routes

void add_downloads_routes(http::Router& router, services::DownloadQueue* queue, Post daemons) {
  using namespace downloads_routes;
  auto run = [queue, daemons](auto f) { return on_pool(queue, daemons, f); };
  router.add(
      {"GET", "/downloads", run(list)},
      {"downloads",
       "Every engine's downloads in one list and one state vocabulary",
       {{"state", "Comma list of states to keep"}, {"service", "Comma list of services to keep"}},
       nullptr,
       s::reply({{"count", s::integer()},
                 {"downloads",
                  s::array(s::object({{"id", s::string("SERVICE:NATIVE_ID")},
                                      {"service", s::string()},
                                      {"kind", s::string("torrent, direct, hoster or cloud")},
                                      {"direction", s::string()},
                                      {"name", s::string()},
                                      {"state", s::string()},
                                      {"progress", s::number()},
                                      {"total_bytes", s::nullable(s::integer())},
                                      {"done_bytes", s::integer()},
                                      {"download_rate", s::integer()},
                                      {"upload_rate", s::integer()},
                                      {"eta", s::nullable(s::integer())}},
                                     {"id", "service", "state", "progress"}))}},
                {"count", "downloads"}),
       "",
       {400}});
  router.add({"POST", "/downloads", run(add), http::BodyKind::json},
             {"downloads",
              "Add a link; it goes to the engine that takes it (or the one named)",
              {},
              s::object({{"url", s::string()}, {"service", s::string()}}, {"url"}),
              s::reply({{"id", s::string()}, {"service", s::string()}}, {"id", "service"}),
              "",
              {409, 502, 503},
              {{"url", "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}}});
  for (const char* action : {"pause", "resume", "cancel"}) {
    router.add({"POST", std::string("/downloads/{id}/") + action, run(act), http::BodyKind::json},
               {"downloads",
                std::string("Pause, resume or cancel one item (") + action + ")",
                {},
                nullptr,
                s::reply({{"id", s::string()}, {"action", s::string()}}, {"id", "action"}),
                "",
                {404, 409, 503}});
  }
}

}  // namespace moccha::api
