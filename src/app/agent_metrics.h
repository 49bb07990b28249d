// The agent's gauges for GET /metrics, read from their owners at each scrape: the machine
// (CPU, memory, disk, GPUs), the process, the kernel and its queue, each service, each download
// engine. Counters and histograms of HTTP traffic are the server's own.
#pragma once

#include <chrono>

namespace moccha::metrics {
class Registry;
}
namespace moccha::sys {
class Monitor;
}
namespace moccha::exec {
class Engine;
}
namespace moccha::services {
class ServiceManager;
class DownloadQueue;
}  // namespace moccha::services

namespace moccha::app {

struct AgentMetricsSources {
  const sys::Monitor* monitor;
  const exec::Engine* engine;
  services::ServiceManager* services;
  services::DownloadQueue* downloads;
  std::chrono::system_clock::time_point started;
};

// Every source must outlive the registry's last scrape.
void add_agent_collectors(metrics::Registry& registry, AgentMetricsSources sources);

}  // namespace moccha::app
