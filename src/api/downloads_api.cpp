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

void add_downloads_routes(http::Router& router, services::DownloadQueue* queue, Post daemons) {
  router.add(
      {"GET", "/downloads",
       [queue, daemons](ApiRequest& req, Responder respond) {
         answer_on(daemons, std::move(respond),
                   [queue, states = req.query_or("state"), names = req.query_or("service")] {
                     ApiResponse r;
                     r.body = queue->list_body(states, names);
                     return r;
                   });
       }},
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
  router.add({"POST", "/downloads",
              [queue, daemons](ApiRequest& req, Responder respond) {
                answer_on(daemons, std::move(respond),
                          [queue, body = req.json] { return ApiResponse::ok(queue->add(body)); });
              },
              http::BodyKind::json},
             {"downloads",
              "Add a link; it goes to the engine that takes it (or the one named)",
              {},
              s::object({{"url", s::string()}, {"service", s::string()}}, {"url"}),
              s::reply({{"id", s::string()}, {"service", s::string()}}, {"id", "service"}),
              "",
              {409, 502, 503},
              {{"url", "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"}}});
  for (const char* action : {"pause", "resume", "cancel"}) {
    router.add({"POST", std::string("/downloads/{id}/") + action,
                [queue, daemons, action](ApiRequest& req, Responder respond) {
                  answer_on(daemons, std::move(respond), [queue, action, id = req.params.at("id")] {
                    queue->act(id, action);
                    return ApiResponse::ok({{"success", true}, {"id", id}, {"action", action}});
                  });
                },
                http::BodyKind::json},
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
