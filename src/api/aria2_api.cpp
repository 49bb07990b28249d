#include "api/aria2_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/aria2/aria2_downloads.h"

namespace moccha::api {
namespace aria2_routes {
namespace {

namespace s = http::schema;
using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;
using D = aria2::Aria2Downloads*;

// The handlers, one each, run on the daemons pool (each asks aria2); the table is below.

ApiResponse add(D d, const ApiRequest& req) {
  std::string gid = d->add(req.json);
  return ApiResponse::ok({{"success", true}, {"message", "Download added"}, {"download_id", gid}});
}

ApiResponse list(D d, const ApiRequest& req) {
  return ApiResponse::ok(d->list(req.query_or("state")));
}

ApiResponse details(D d, const ApiRequest& req) {
  return ApiResponse::ok({{"success", true}, {"download", d->details(req.params.at("id"))}});
}

ApiResponse pause(D d, const ApiRequest& req) {
  d->pause(req.params.at("id"));
  return ApiResponse::ok({{"success", true}, {"message", "Download paused"}});
}

ApiResponse resume(D d, const ApiRequest& req) {
  d->resume(req.params.at("id"));
  return ApiResponse::ok({{"success", true}, {"message", "Download resumed"}});
}

ApiResponse remove(D d, const ApiRequest& req) {
  bool data = http::optional_bool(req.json, "remove_data").value_or(false);
  d->remove(req.params.at("id"), data);
  return ApiResponse::ok({{"success", true}, {"message", "Download removed"}});
}

ApiResponse stats(D d, const ApiRequest&) {
  return ApiResponse::ok(d->stats());
}

}  // namespace
}  // namespace aria2_routes

void add_aria2_routes(http::Router& router, aria2::Aria2Downloads* d, Post daemons) {
  using namespace aria2_routes;
  auto run = [d, daemons](auto f) { return on_pool(d, daemons, f); };
  router.add({"POST", "/services/aria2/downloads", run(add), http::BodyKind::json},
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
      {"GET", "/services/aria2/downloads", run(list)},
      {"aria2",
       "aria2's downloads and those Moccha remembers",
       {{"state", "Comma list of states"}},
       nullptr,
       s::reply({{"downloads", s::array(s::object({}))}, {"count", s::integer()}}, {"downloads"}),
       "",
       {400, 502}});
  router.add({"GET", "/services/aria2/downloads/{id}", run(details)},
             {"aria2",
              "One download in detail",
              {},
              nullptr,
              s::reply({{"download", s::object({})}}, {"download"}),
              "",
              {404, 502}});
  router.add({"POST", "/services/aria2/downloads/{id}/pause", run(pause), http::BodyKind::json},
             {"aria2",
              "Pause a download",
              {},
              nullptr,
              s::reply({{"message", s::string()}}),
              "",
              {404, 409, 502, 503}});
  router.add({"POST", "/services/aria2/downloads/{id}/resume", run(resume), http::BodyKind::json},
             {"aria2",
              "Resume a download",
              {},
              nullptr,
              s::reply({{"message", s::string()}}),
              "",
              {404, 409, 502, 503}});
  router.add({"POST", "/services/aria2/downloads/{id}/remove", run(remove), http::BodyKind::json},
             {"aria2",
              "Remove a download, with its file if asked",
              {},
              s::object({{"remove_data", s::boolean()}}),
              s::reply({{"message", s::string()}}),
              "",
              {404, 502, 503}});
  router.add({"GET", "/services/aria2/stats", run(stats)},
             {"aria2", "aria2's global rates and counts", {}, nullptr, s::reply(), "", {502, 503}});
}

}  // namespace moccha::api
