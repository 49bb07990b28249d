#include "api/services_api.h"

#include <memory>

#include "api/work.h"
#include "http/router.h"
#include "services/manager.h"

namespace moccha::api {
namespace services_routes {
namespace {

namespace s = http::schema;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

// Every service call may block (children, RPC): start, stop and restart (which may install
// packages) run on the jobs pool; what asks a daemon a question on the daemons pool.
struct Deps {
  services::ServiceManager* m;
  Post daemons, jobs;
};
using D = std::shared_ptr<const Deps>;

std::string known(const Deps& d, const ApiRequest& req) {
  std::string name = req.params.at("service_name");
  if (!d.m->has(name)) throw ApiError(404, "unknown service", "no service named '" + name + "'");
  return name;
}

// The handlers, one each; add_services_routes() below is the table.

ApiResponse list(const D& d, const ApiRequest&) {
  auto names = d->m->names();
  return ApiResponse::ok({{"success", true}, {"services", names}, {"count", names.size()}});
}

void status_all(const D& d, ApiRequest&, Responder respond) {
  answer_on(d->daemons, std::move(respond), [d] {
    return ApiResponse::ok({{"success", true}, {"services", d->m->status_all()}});
  });
}

void status_one(const D& d, ApiRequest& req, Responder respond) {
  std::string name = known(*d, req);
  answer_on(d->daemons, std::move(respond),
            [d, name] { return ApiResponse::ok(d->m->status(name)); });
}

// start, stop or restart
void act(const D& d, ApiRequest& req, Responder respond) {
  std::string name = known(*d, req);
  std::string verb = req.path.substr(req.path.rfind('/') + 1);
  if (!req.json.is_null() && !req.json.is_object())
    throw http::ApiError(400, "invalid request", "the body, when sent, is a JSON object");
  answer_on(d->jobs, std::move(respond), [d, name, verb, body = req.json] {
    json out = verb == "start"  ? d->m->start(name, body)
               : verb == "stop" ? d->m->stop(name)
                                : d->m->restart(name, body);
    out["success"] = true;
    return ApiResponse::ok(std::move(out));
  });
}

ApiResponse config_all(const D& d, const ApiRequest&) {
  return ApiResponse::ok({{"success", true}, {"config", d->m->shown_config_all()}});
}

ApiResponse config_one(const D& d, const ApiRequest& req) {
  std::string name = known(*d, req);
  return ApiResponse::ok(
      {{"success", true}, {"service", name}, {"config", d->m->shown_config(name)}});
}

void update_config(const D& d, ApiRequest& req, Responder respond) {
  std::string name = http::require_string(req.json, "service_name");
  json changes = http::require_field(req.json, "config");
  if (!d->m->has(name)) throw ApiError(404, "unknown service", "no service named '" + name + "'");
  answer_on(d->daemons, std::move(respond), [d, name, changes] {
    auto restart = d->m->update(name, changes);
    return ApiResponse::ok({{"success", true},
                            {"message", "Configuration updated for " + name},
                            {"restart_required", restart}});
  });
}

json service_status() {
  return s::object({{"running", s::boolean()},
                    {"connected", s::boolean()},
                    {"pid", s::nullable(s::integer())},
                    {"restarts", s::integer()},
                    {"last_error", s::nullable(s::string())}},
                   {"running"});
}

}  // namespace
}  // namespace services_routes

void add_services_routes(http::Router& router, services::ServiceManager* m, ServicesPools pools) {
  using namespace services_routes;
  auto d = std::make_shared<const Deps>(Deps{m, pools.daemons, pools.jobs});
  router.add({"GET", "/services", answers(d, list)},
             {"services",
              "The services the agent knows",
              {},
              nullptr,
              s::reply({{"services", s::array(s::string())}, {"count", s::integer()}},
                       {"services", "count"})});
  router.add({"GET", "/services/status", handler(d, status_all)},
             {"services",
              "Every service's status",
              {},
              nullptr,
              s::reply({{"services", s::map(service_status())}}, {"services"})});
  router.add({"GET", "/services/{service_name}/status", handler(d, status_one)},
             {"services", "One service's status", {}, nullptr, service_status(), "", {404}});
  for (std::string verb : {"start", "stop", "restart"})
    router.add({"POST", "/services/{service_name}/" + verb, handler(d, act), http::BodyKind::json},
               {"services",
                "Start, stop or restart a service (" + verb + ")",
                {},
                verb == "stop"
                    ? json()
                    : s::object({{"mfa", s::string("MEGA: a 2FA code, when the account asks")}}),
                s::reply({{"message", s::string()}, {"result", s::any()}}, {"message"}),
                "",
                {400, 404, 409, 502, 503, 507}});
  router.add({"GET", "/services/config", answers(d, config_all)},
             {"services",
              "Every service's config (secrets shown as ********)",
              {},
              nullptr,
              s::reply({{"config", s::map(s::object({}))}}, {"config"})});
  router.add(
      {"GET", "/services/config/{service_name}", answers(d, config_one)},
      {"services",
       "One service's config (secrets shown as ********)",
       {},
       nullptr,
       s::reply({{"service", s::string()}, {"config", s::object({})}}, {"service", "config"}),
       "",
       {404}});
  router.add({"POST", "/services/config", handler(d, update_config), http::BodyKind::json},
             {"services",
              "Change a service's config: checked whole, written atomically, applied live where it "
              "can be",
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
