#include "api/system_api.h"

#include <cmath>
#include <memory>

#include "api/work.h"
#include "core/time_util.h"
#include "http/router.h"
#include "system/monitor.h"

namespace moccha::api {

namespace s = http::schema;
namespace system_routes {
namespace {

using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;

double round_to(double v, int places) {
  double f = std::pow(10.0, places);
  return std::round(v * f) / f;
}

double gib(std::uint64_t bytes) {
  return round_to(bytes / 1073741824.0, 2);
}

json gpu_json(const sys::GpuInfo& g) {
  return {{"index", g.index},
          {"name", g.name},
          {"mem_used_mb", g.mem_used_mb},
          {"mem_total_mb", g.mem_total_mb},
          {"util_pct", g.util_pct ? json(*g.util_pct) : json(nullptr)}};
}

json status_body(const SystemApiDeps& d) {
  auto up = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  d.started);
  sys::Monitor::Snapshot snap = d.monitor->snapshot();
  json body = {{"uptime", format_uptime(up)},
               {"cpu_pct", round_to(snap.cpu_pct, 1)},
               {"cpu_count", snap.cpu_count}};
  const sys::Memory& mem = snap.memory;
  body["ram_total_gb"] = gib(mem.total_bytes);
  body["ram_used_gb"] = gib(mem.used_bytes());
  body["ram_pct"] = mem.total_bytes ? round_to(100.0 * mem.used_bytes() / mem.total_bytes, 1) : 0.0;
  const sys::Disk& disk = snap.disk;
  body["disk_total_gb"] = gib(disk.total_bytes);
  body["disk_free_gb"] = gib(disk.free_bytes);
  body["gpu"] = snap.gpus.empty() ? json(nullptr) : gpu_json(snap.gpus.front());
  json gpus = json::array();
  for (const auto& g : snap.gpus) gpus.push_back(gpu_json(g));
  body["gpus"] = std::move(gpus);
  body["executions"] = d.executions();
  body["variables"] = d.variables();
  return body;
}

ApiResponse health(const ApiRequest&) {
  return ApiResponse::ok({{"status", "ok"}});
}

ApiResponse status(const std::shared_ptr<const SystemApiDeps>& d, const ApiRequest&) {
  return ApiResponse::ok(status_body(*d));
}

}  // namespace
}  // namespace system_routes

void add_system_routes(http::Router& router, SystemApiDeps d) {
  using namespace system_routes;
  auto deps = std::make_shared<const SystemApiDeps>(std::move(d));
  router.add({"GET", "/health", http::sync(health), http::BodyKind::none, /*is_public=*/true},
             {"system",
              "Liveness, answered without a key",
              {},
              nullptr,
              s::object({{"status", s::string("ok")}}, {"status"})});
  router.add({"GET", "/status", answers(deps, status)},
             {"system",
              "CPU, memory, disk and GPUs of the machine, and the kernel's counters",
              {},
              nullptr,
              s::object({{"uptime", s::string("Python-style, 0:30:45.123456")},
                         {"cpu_pct", s::number()},
                         {"cpu_count", s::integer()},
                         {"ram_total_gb", s::number()},
                         {"ram_used_gb", s::number()},
                         {"ram_pct", s::number()},
                         {"disk_total_gb", s::number()},
                         {"disk_free_gb", s::number()},
                         {"gpu", s::nullable(s::object({}))},
                         {"gpus", s::array(s::object({{"index", s::integer()},
                                                      {"name", s::string()},
                                                      {"mem_used_mb", s::integer()},
                                                      {"mem_total_mb", s::integer()},
                                                      {"util_pct", s::nullable(s::integer())}}))},
                         {"executions", s::integer()},
                         {"variables", s::integer()}},
                        {"uptime", "cpu_pct", "cpu_count", "ram_pct", "disk_free_gb", "gpus",
                         "executions"})});
}

}  // namespace moccha::api
