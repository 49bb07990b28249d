#include "api/services_api.h"

#include <memory>

#include "api/work.h"
#include "http/router.h"
#include "services/manager.h"

namespace moccha::api {

namespace s = http::schema;
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

}  // namespace

void add_services_routes(http::Router& router, services::ServiceManager* m, ServicesPools pools) {
  // Every service call may block (children, RPC): run it on a pool, map its errors. Start,
  // stop and restart (which may install packages) go to the jobs pool; what asks a daemon
  // a question goes to the daemons pool.
  auto on = [](Post pool) {
    return [pool](Responder respond, std::function<ApiResponse()> f) {
      answer_on(pool, std::move(respond), std::move(f));
    };
  };
  auto run = on(pools.daemons);
  auto run_job = on(pools.jobs);
  auto known = [m](const ApiRequest& req) {
    std::string name = req.params.at("service_name");
    if (!m->has(name)) throw ApiError(404, "unknown service", "no service named '" + name + "'");
    return name;
  };

  router.add(
      {"GET", "/services", http::sync([m](const ApiRequest&) {
         auto names = m->names();
         return ApiResponse::ok({{"success", true}, {"services", names}, {"count", names.size()}});
       })},
      {"services",
       "The services the agent knows",
       {},
       nullptr,
       s::reply({{"services", s::array(s::string())}, {"count", s::integer()}},
                {"services", "count"})});
  router.add({"GET", "/services/status",
              [m, run](ApiRequest&, Responder respond) {
                run(std::move(respond), [m] {
                  return ApiResponse::ok({{"success", true}, {"services", m->status_all()}});
                });
              }},
             {"services",
              "Every service's status",
              {},
              nullptr,
              s::reply({{"services", s::map(s::object({{"running", s::boolean()},
                                                       {"connected", s::boolean()},
                                                       {"pid", s::nullable(s::integer())},
                                                       {"restarts", s::integer()},
                                                       {"last_error", s::nullable(s::string())}},
                                                      {"running"}))}},
                       {"services"})});
  router.add({"GET", "/services/{service_name}/status",
              [m, run, known](ApiRequest& req, Responder respond) {
                std::string name = known(req);
                run(std::move(respond), [m, name] { return ApiResponse::ok(m->status(name)); });
              }},
             {"services",
              "One service's status",
              {},
              nullptr,
              s::object({{"running", s::boolean()},
                         {"connected", s::boolean()},
                         {"pid", s::nullable(s::integer())},
                         {"restarts", s::integer()},
                         {"last_error", s::nullable(s::string())}},
                        {"running"}),
              "",
              {404}});
  for (const char* action : {"start", "stop", "restart"}) {
    std::string verb = action;
    router.add({"POST", "/services/{service_name}/" + verb,
                [m, run_job, known, verb](ApiRequest& req, Responder respond) {
                  std::string name = known(req);
                  run_job(std::move(respond), [m, name, verb] {
                    json out = verb == "start"  ? m->start(name)
                               : verb == "stop" ? m->stop(name)
                                                : m->restart(name);
                    out["success"] = true;
                    return ApiResponse::ok(std::move(out));
                  });
                }},
               {"services",
                "Start, stop or restart a service (" + verb + ")",
                {},
                nullptr,
                s::reply({{"message", s::string()}, {"result", s::any()}}, {"message"}),
                "",
                {404, 409, 501, 502, 503}});
  }
  router.add({"GET", "/services/config", http::sync([m](const ApiRequest&) {
                return ApiResponse::ok({{"success", true}, {"config", m->shown_config_all()}});
              })},
             {"services",
              "Every service's config (secrets shown as ********)",
              {},
              nullptr,
              s::reply({{"config", s::map(s::object({}))}}, {"config"})});
  router.add(
      {"GET", "/services/config/{service_name}", http::sync([m, known](const ApiRequest& req) {
         std::string name = known(req);
         return ApiResponse::ok(
             {{"success", true}, {"service", name}, {"config", m->shown_config(name)}});
       })},
      {"services",
       "One service's config (secrets shown as ********)",
       {},
       nullptr,
       s::reply({{"service", s::string()}, {"config", s::object({})}}, {"service", "config"}),
       "",
       {404}});
  router.add(
      {"POST", "/services/config",
       [m, run](ApiRequest& req, Responder respond) {
         std::string name = http::require_string(req.json, "service_name");
         const json& changes = http::require_field(req.json, "config");
         if (!m->has(name))
           throw ApiError(404, "unknown service", "no service named '" + name + "'");
         json copy = changes;
         run(std::move(respond), [m, name, copy] {
           auto restart = m->update(name, copy);
           json out = {{"success", true},
                       {"message", "Configuration updated for " + name},
                       {"restart_required", restart}};
           return ApiResponse::ok(std::move(out));
         });
       },
       http::BodyKind::json},
      {"services",
       "Change a service's config: checked whole, written atomically, applied live where it can be",
       {},
       s::object({{"service_name", s::string()}, {"config", s::object({})}},
                 {"service_name", "config"}),
       s::reply({{"message", s::string()}, {"restart_required", s::array(s::string())}},
                {"message", "restart_required"}),
       "",
       {404},
       {{"service_name", "deluge"},
        {"config", {{"max_download_speed", 1000}, {"download_path", "/new/downloads"}}}}});
}

}  // namespace moccha::api
