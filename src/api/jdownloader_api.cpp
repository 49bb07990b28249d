#include "api/jdownloader_api.h"

#include "api/work.h"
#include "http/router.h"
#include "services/jdownloader/jd_downloads.h"

namespace moccha::api {

namespace s = http::schema;

using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

void add_jdownloader_routes(http::Router& router, jd::JdDownloads* d, Post daemons) {
  // Every call asks JD: on the daemons pool, its errors mapped at the one boundary.
  auto route = [&](const char* method, const std::string& path, http::RouteDoc doc,
                   std::function<ApiResponse(const ApiRequest&)> f) {
    doc.tag = "jdownloader";
    doc.errors.insert(doc.errors.end(), {502, 503});
    router.add({method, path,
                [daemons, f = std::move(f)](ApiRequest& req, Responder respond) {
                  answer_on(daemons, std::move(respond), [f, req] { return f(req); });
                },
                http::BodyKind::json},
               std::move(doc));
  };
  const json links_body =
      s::object({{"links", s::array(s::string(), "the links, one each (or 'text')")},
                 {"text", s::string("any text; JD finds the links in it")},
                 {"package_name", s::string()},
                 {"destination", s::string()},
                 {"autostart", s::boolean()}});
  route("POST", "/services/jdownloader/links",
        {"",
         "Add hoster links to JD's link grabber (started at once with autostart)",
         {},
         links_body,
         s::reply({{"job_id", s::string()}}, {"job_id"}),
         "",
         {400},
         {{"links", {"https://example.org/file.zip"}}, {"autostart", true}}},
        [d](const ApiRequest& req) {
          std::string job = d->add_links(req.json);
          return ApiResponse::ok({{"success", true}, {"message", "Links added"}, {"job_id", job}});
        });
  route("GET", "/services/jdownloader/linkgrabber",
        {"", "What the link grabber holds, by package", {}, nullptr, s::reply()},
        [d](const ApiRequest&) { return ApiResponse::ok(d->linkgrabber()); });
  route("POST", "/services/jdownloader/linkgrabber/confirm",
        {"",
         "Move packages (or all) from the link grabber to the download list",
         {},
         s::object({{"package_ids", s::array(s::string())}}),
         s::reply(),
         "",
         {400, 404}},
        [d](const ApiRequest& req) {
          d->confirm(req.json);
          return ApiResponse::ok({{"success", true}, {"message", "Moved to the download list"}});
        });
  route("POST", "/services/jdownloader/linkgrabber/clear",
        {"", "Empty the link grabber", {}, nullptr, s::reply()}, [d](const ApiRequest&) {
          d->clear();
          return ApiResponse::ok({{"success", true}, {"message", "Link grabber cleared"}});
        });
  route("GET", "/services/jdownloader/downloads",
        {"", "JD's download list, by package", {}, nullptr, s::reply()},
        [d](const ApiRequest&) { return ApiResponse::ok(d->downloads()); });
  for (const char* action : {"pause", "resume", "remove"})
    route("POST", std::string("/services/jdownloader/downloads/{id}/") + action,
          {"",
           std::string("Pause, resume or remove a link or a package (") + action + ")",
           {},
           s::object({{"remove_data", s::boolean()}}),
           s::reply(),
           "",
           {404}},
          [d, action = std::string(action)](const ApiRequest& req) {
            bool data = http::optional_bool(req.json, "remove_data").value_or(false);
            d->control(req.params.at("id"), action, data);
            return ApiResponse::ok({{"success", true}, {"message", "Done: " + action}});
          });
  for (const char* action : {"start", "stop", "pause"})
    route("POST", std::string("/services/jdownloader/controller/") + action,
          {"",
           std::string("JD's download controller: ") + action,
           {},
           s::object({{"paused", s::boolean()}}),
           s::reply()},
          [d, action = std::string(action)](const ApiRequest& req) {
            d->controller(action, http::optional_bool(req.json, "paused").value_or(true));
            return ApiResponse::ok({{"success", true}, {"message", "Controller: " + action}});
          });
  route("GET", "/services/jdownloader/stats",
        {"", "JD's totals: speed, bytes, links, packages", {}, nullptr, s::reply()},
        [d](const ApiRequest&) { return ApiResponse::ok(d->stats()); });
}

}  // namespace moccha::api
