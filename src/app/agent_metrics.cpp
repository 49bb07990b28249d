#include "app/agent_metrics.h"

#include <string>

#include "core/log.h"
#include "core/metrics.h"
#include "core/time_util.h"
#include "exec/engine.h"
#include "services/downloads.h"
#include "services/manager.h"
#include "system/monitor.h"
#include "system/sysinfo.h"

namespace moccha::app {
namespace {

using metrics::Exposition;

void gauge(Exposition& e, const char* name, const char* help, double value) {
  e.family(name, "gauge", help);
  e.sample(name, {}, value);
}

void machine(Exposition& e, const sys::Monitor& monitor) {
  sys::Monitor::Snapshot s = monitor.snapshot();
  gauge(e, "moccha_system_cpu_usage_ratio", "Share of all CPUs busy over the last interval",
        s.cpu_pct / 100.0);
  gauge(e, "moccha_system_cpus", "Online CPUs", s.cpu_count);
  gauge(e, "moccha_system_memory_total_bytes", "Physical memory", s.memory.total_bytes);
  gauge(e, "moccha_system_memory_used_bytes", "Memory in use (total less available)",
        s.memory.used_bytes());
  gauge(e, "moccha_system_disk_total_bytes", "Size of the file system holding the workspace",
        s.disk.total_bytes);
  gauge(e, "moccha_system_disk_free_bytes", "Space free to users on that file system",
        s.disk.free_bytes);
  const char* util = "moccha_gpu_utilization_ratio";
  const char* used = "moccha_gpu_memory_used_bytes";
  const char* total = "moccha_gpu_memory_total_bytes";
  if (s.gpus.empty()) return;  // no GPU: no series, not zeros
  e.family(util, "gauge", "Share of the time the GPU was busy");
  for (const auto& g : s.gpus)
    if (g.util_pct)
      e.sample(util, {{"gpu", std::to_string(g.index)}, {"name", g.name}}, *g.util_pct / 100.0);
  e.family(used, "gauge", "GPU memory in use");
  for (const auto& g : s.gpus)
    e.sample(used, {{"gpu", std::to_string(g.index)}, {"name", g.name}},
             static_cast<double>(g.mem_used_mb) * 1024 * 1024);
  e.family(total, "gauge", "GPU memory");
  for (const auto& g : s.gpus)
    e.sample(total, {{"gpu", std::to_string(g.index)}, {"name", g.name}},
             static_cast<double>(g.mem_total_mb) * 1024 * 1024);
}

void process(Exposition& e, std::chrono::system_clock::time_point started) {
  e.family("moccha_build_info", "gauge", "The agent's version, as a label");
  e.sample("moccha_build_info", {{"version", MOCCHA_VERSION}}, 1);
  gauge(e, "moccha_start_time_seconds", "When the agent started, in seconds since the epoch",
        std::chrono::duration<double>(started.time_since_epoch()).count());
  if (auto status = sys::read_file("/proc/self/status"))
    if (auto rss = sys::parse_rss_bytes(*status))
      gauge(e, "moccha_process_resident_memory_bytes", "The agent's resident set size",
            static_cast<double>(*rss));
}

void kernel(Exposition& e, const exec::Engine& engine) {
  gauge(e, "moccha_kernel_up", "1 while the Python kernel runs", engine.kernel_pid() > 0);
  gauge(e, "moccha_kernel_busy", "1 while the kernel runs an execution or a task", engine.busy());
  gauge(e, "moccha_task_queue_depth", "Executions and tasks waiting their turn",
        static_cast<double>(engine.queue_depth()));
  e.family("moccha_executions_total", "counter", "Executions and async tasks run, ever");
  e.sample("moccha_executions_total", {}, static_cast<double>(engine.executions()));
}

void services_of(Exposition& e, services::ServiceManager& manager) {
  struct Row {
    std::string name;
    nlohmann::json status;
  };
  std::vector<Row> rows;
  for (const auto& name : manager.names()) {
    try {
      rows.push_back({name, manager.status(name)});
    } catch (const std::exception& ex) {
      log::warn("metrics: no status of {}: {}", name, ex.what());
    }
  }
  e.family("moccha_service_up", "gauge", "1 while the service runs");
  for (const auto& r : rows)
    e.sample("moccha_service_up", {{"service", r.name}}, r.status.value("running", false));
  e.family("moccha_service_restarts_total", "counter", "Restarts by supervision");
  for (const auto& r : rows)
    e.sample("moccha_service_restarts_total", {{"service", r.name}}, r.status.value("restarts", 0));
  e.family("moccha_service_last_start_timestamp_seconds", "gauge",
           "When the service last started, in seconds since the epoch");
  for (const auto& r : rows) {
    auto at = r.status.find("started_at");
    if (at == r.status.end() || !at->is_string()) continue;
    if (auto t = parse_iso8601_utc(at->get<std::string>()))
      e.sample("moccha_service_last_start_timestamp_seconds", {{"service", r.name}},
               static_cast<double>(*t));
  }
}

void engines(Exposition& e, services::DownloadQueue& downloads) {
  auto rows = downloads.summary();
  e.family("moccha_download_rate_bytes_per_second", "gauge",
           "What an engine downloads now, all its items together");
  for (const auto& r : rows)
    e.sample("moccha_download_rate_bytes_per_second", {{"service", r.service}},
             static_cast<double>(r.download_rate));
  e.family("moccha_upload_rate_bytes_per_second", "gauge",
           "What an engine uploads now (seeding, cloud uploads)");
  for (const auto& r : rows)
    e.sample("moccha_upload_rate_bytes_per_second", {{"service", r.service}},
             static_cast<double>(r.upload_rate));
  e.family("moccha_downloads", "gauge", "An engine's items by state: active, queued or seeding");
  for (const auto& r : rows) {
    e.sample("moccha_downloads", {{"service", r.service}, {"state", "active"}}, r.active);
    e.sample("moccha_downloads", {{"service", r.service}, {"state", "queued"}}, r.queued);
    e.sample("moccha_downloads", {{"service", r.service}, {"state", "seeding"}}, r.seeding);
  }
}

}  // namespace

void add_agent_collectors(metrics::Registry& registry, AgentMetricsSources s) {
  registry.collect([s](Exposition& e) {
    process(e, s.started);
    machine(e, *s.monitor);
    kernel(e, *s.engine);
    services_of(e, *s.services);
    engines(e, *s.downloads);
  });
}

}  // namespace moccha::app
