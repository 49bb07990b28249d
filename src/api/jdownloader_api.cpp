#include "api/jdownloader_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/jdownloader/jd_downloads.h"

namespace moccha::api {

namespace s = http::schema;
namespace jd_routes {
namespace {

using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;
using D = jd::JdDownloads*;

// The handlers, one each; every one asks JD, so all run on the daemons pool. The table is below.

ApiResponse add_links(D d, const ApiRequest& req) {
  std::string job = d->add_links(req.json);
  return ApiResponse::ok({{"success", true}, {"message", "Links added"}, {"job_id", job}});
}

ApiResponse linkgrabber(D d, const ApiRequest&) {
  return ApiResponse::ok(d->linkgrabber());
}

ApiResponse confirm(D d, const ApiRequest& req) {
  d->confirm(req.json);
  return ApiResponse::ok({{"success", true}, {"message", "Moved to the download list"}});
}

ApiResponse clear(D d, const ApiRequest&) {
  d->clear();
  return ApiResponse::ok({{"success", true}, {"message", "Link grabber cleared"}});
}

ApiResponse downloads(D d, const ApiRequest&) {
  return ApiResponse::ok(d->downloads());
}

ApiResponse control(D d, const ApiRequest& req, const std::string& action) {
  bool data = http::optional_bool(req.json, "remove_data").value_or(false);
  d->control(req.params.at("id"), action, data);
  return ApiResponse::ok({{"success", true}, {"message", "Done: " + action}});
}
ApiResponse pause(D d, const ApiRequest& req) {
  return control(d, req, "pause");
}
ApiResponse resume(D d, const ApiRequest& req) {
  return control(d, req, "resume");
}
ApiResponse remove(D d, const ApiRequest& req) {
  return control(d, req, "remove");
}

ApiResponse controller(D d, const ApiRequest& req, const std::string& action) {
  d->controller(action, http::optional_bool(req.json, "paused").value_or(true));
  return ApiResponse::ok({{"success", true}, {"message", "Controller: " + action}});
}
ApiResponse start(D d, const ApiRequest& req) {
  return controller(d, req, "start");
}
ApiResponse stop(D d, const ApiRequest& req) {
  return controller(d, req, "stop");
}
ApiResponse pause_all(D d, const ApiRequest& req) {
  return controller(d, req, "pause");
}

ApiResponse stats(D d, const ApiRequest&) {
  return ApiResponse::ok(d->stats());
}

}  // namespace
}  // namespace jd_routes

void add_jdownloader_routes(http::Router& router, jd::JdDownloads* d, Post daemons) {
  using namespace jd_routes;
  auto route = [&](const char* method, std::string path, auto f, http::RouteDoc doc) {
    doc.tag = "jdownloader";
    doc.errors.insert(doc.errors.end(), {502, 503});
    router.add({method, std::move(path), on_pool(d, daemons, f), http::BodyKind::json},
               std::move(doc));
  };
  const json links_body =
      s::object({{"links", s::array(s::string(), "the links, one each (or 'text')")},
                 {"text", s::string("any text; JD finds the links in it")},
                 {"package_name", s::string()},
                 {"destination", s::string()},
                 {"autostart", s::boolean()}});
  const json item_body = s::object({{"remove_data", s::boolean()}});
  const json controller_body = s::object({{"paused", s::boolean()}});

  route("POST", "/services/jdownloader/links", add_links,
        {"",
         "Add hoster links to JD's link grabber (started at once with autostart)",
         {},
         links_body,
         s::reply({{"job_id", s::string()}}, {"job_id"}),
         "",
         {400},
         {{"links", {"https://example.org/file.zip"}}, {"autostart", true}}});
  route("GET", "/services/jdownloader/linkgrabber", linkgrabber,
        {"", "What the link grabber holds, by package", {}, nullptr, s::reply()});
  route("POST", "/services/jdownloader/linkgrabber/confirm", confirm,
        {"",
         "Move packages (or all) from the link grabber to the download list",
         {},
         s::object({{"package_ids", s::array(s::string())}}),
         s::reply(),
         "",
         {400, 404}});
  route("POST", "/services/jdownloader/linkgrabber/clear", clear,
        {"", "Empty the link grabber", {}, nullptr, s::reply()});
  route("GET", "/services/jdownloader/downloads", downloads,
        {"", "JD's download list, by package", {}, nullptr, s::reply()});
  route("POST", "/services/jdownloader/downloads/{id}/pause", pause,
        {"", "Pause a link or a package", {}, item_body, s::reply(), "", {404}});
  route("POST", "/services/jdownloader/downloads/{id}/resume", resume,
        {"", "Resume a link or a package", {}, item_body, s::reply(), "", {404}});
  route("POST", "/services/jdownloader/downloads/{id}/remove", remove,
        {"",
         "Remove a link or a package, with its files if asked",
         {},
         item_body,
         s::reply(),
         "",
         {404}});
  route("POST", "/services/jdownloader/controller/start", start,
        {"", "JD's download controller: start", {}, controller_body, s::reply()});
  route("POST", "/services/jdownloader/controller/stop", stop,
        {"", "JD's download controller: stop", {}, controller_body, s::reply()});
  route("POST", "/services/jdownloader/controller/pause", pause_all,
        {"",
         "JD's download controller: pause (or unpause with paused=false)",
         {},
         controller_body,
         s::reply()});
  route("GET", "/services/jdownloader/stats", stats,
        {"", "JD's totals: speed, bytes, links, packages", {}, nullptr, s::reply()});
}

}  // namespace moccha::api
