#include "api/downloads_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/downloads.h"

namespace moccha::api {

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

void add_downloads_routes(http::Router& router, services::DownloadQueue* queue, Post daemons) {
  router.add({"GET", "/downloads", [queue, daemons](ApiRequest& req, Responder respond) {
                answer_on(daemons, std::move(respond),
                          [queue, states = req.query_or("state"), names = req.query_or("service")] {
                            ApiResponse r;
                            r.body = queue->list_body(states, names);
                            return r;
                          });
              }});
  router.add({"POST", "/downloads",
              [queue, daemons](ApiRequest& req, Responder respond) {
                answer_on(daemons, std::move(respond),
                          [queue, body = req.json] { return ApiResponse::ok(queue->add(body)); });
              },
              http::BodyKind::json});
  for (const char* action : {"pause", "resume", "cancel"}) {
    router.add({"POST", std::string("/downloads/{id}/") + action,
                [queue, daemons, action](ApiRequest& req, Responder respond) {
                  answer_on(daemons, std::move(respond), [queue, action, id = req.params.at("id")] {
                    queue->act(id, action);
                    return ApiResponse::ok({{"success", true}, {"id", id}, {"action", action}});
                  });
                },
                http::BodyKind::json});
  }
}

}  // namespace moccha::api
