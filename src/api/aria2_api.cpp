#include "api/aria2_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/aria2/aria2_downloads.h"

namespace moccha::api {

namespace s = http::schema;

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

void add_aria2_routes(http::Router& router, aria2::Aria2Downloads* d, Post daemons) {
  auto on = [daemons](Responder respond, std::function<ApiResponse()> f) {
    answer_on(daemons, std::move(respond), std::move(f));
  };
  router.add({"POST", "/services/aria2/downloads",
              [d, on](ApiRequest& req, Responder respond) {
                on(std::move(respond), [d, body = req.json] {
                  std::string gid = d->add(body);
                  return ApiResponse::ok(
                      {{"success", true}, {"message", "Download added"}, {"download_id", gid}});
                });
              },
              http::BodyKind::json},
             {"aria2",
              "Add a direct link (http, https, ftp, sftp)",
              {},
              s::object({{"url", s::string()},
                         {"out", s::string("file name")},
                         {"dir", s::string()},
                         {"checksum", s::string("sha-256=HEX")}},
                        {"url"}),
              s::reply({{"message", s::string()}, {"download_id", s::string()}}, {"download_id"}),
              "",
              {502, 503},
              {{"url", "https://example.org/file.iso"}}});
  router.add(
      {"GET", "/services/aria2/downloads",
       [d, on](ApiRequest& req, Responder respond) {
         on(std::move(respond),
            [d, states = req.query_or("state")] { return ApiResponse::ok(d->list(states)); });
       }},
      {"aria2",
       "aria2's downloads and those Moccha remembers",
       {{"state", "Comma list of states"}},
       nullptr,
       s::reply({{"downloads", s::array(s::object({}))}, {"count", s::integer()}}, {"downloads"}),
       "",
       {400, 502}});
  router.add({"GET", "/services/aria2/downloads/{id}",
              [d, on](ApiRequest& req, Responder respond) {
                on(std::move(respond), [d, id = req.params.at("id")] {
                  return ApiResponse::ok({{"success", true}, {"download", d->details(id)}});
                });
              }},
             {"aria2",
              "One download in detail",
              {},
              nullptr,
              s::reply({{"download", s::object({})}}, {"download"}),
              "",
              {404, 502}});
  router.add({"POST", "/services/aria2/downloads/{id}/pause",
              [d, on](ApiRequest& req, Responder respond) {
                on(std::move(respond), [d, id = req.params.at("id")] {
                  d->pause(id);
                  return ApiResponse::ok({{"success", true}, {"message", "Download paused"}});
                });
              },
              http::BodyKind::json},
             {"aria2",
              "Pause a download",
              {},
              nullptr,
              s::reply({{"message", s::string()}}),
              "",
              {404, 409, 502, 503}});
  router.add({"POST", "/services/aria2/downloads/{id}/resume",
              [d, on](ApiRequest& req, Responder respond) {
                on(std::move(respond), [d, id = req.params.at("id")] {
                  d->resume(id);
                  return ApiResponse::ok({{"success", true}, {"message", "Download resumed"}});
                });
              },
              http::BodyKind::json},
             {"aria2",
              "Resume a download",
              {},
              nullptr,
              s::reply({{"message", s::string()}}),
              "",
              {404, 409, 502, 503}});
  router.add({"POST", "/services/aria2/downloads/{id}/remove",
              [d, on](ApiRequest& req, Responder respond) {
                bool data = http::optional_bool(req.json, "remove_data").value_or(false);
                on(std::move(respond), [d, data, id = req.params.at("id")] {
                  d->remove(id, data);
                  return ApiResponse::ok({{"success", true}, {"message", "Download removed"}});
                });
              },
              http::BodyKind::json},
             {"aria2",
              "Remove a download, with its file if asked",
              {},
              s::object({{"remove_data", s::boolean()}}),
              s::reply({{"message", s::string()}}),
              "",
              {404, 502, 503}});
  router.add({"GET", "/services/aria2/stats",
              [d, on](ApiRequest&, Responder respond) {
                on(std::move(respond), [d] { return ApiResponse::ok(d->stats()); });
              }},
             {"aria2", "aria2's global rates and counts", {}, nullptr, s::reply(), "", {502, 503}});
}

}  // namespace moccha::api
