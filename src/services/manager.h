// The registry of services, their configuration (DATA_DIR/services_config.json, the spec's
// shape: {"services": {"deluge": {...}}}), and supervision. Thread-safe; every method blocks
// (disk, children, RPC), so call it from worker threads. One operation per service at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "services/service.h"

namespace moccha::services {

class EventBus;
inline constexpr const char* kSecretMask = "********";

class ServiceManager {
 public:
  // Reads the config file (missing keys get defaults; a file that does not parse is kept aside
  // as .bad and replaced by defaults, with a log line) and the record of what was running.
  // `events` (may be null) gets service.started and service.stopped.
  ServiceManager(std::string data_dir, std::vector<std::unique_ptr<Service>> services,
                 EventBus* events = nullptr);
  ~ServiceManager();  // stops the supervisor; call shutdown() first to stop the daemons

  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  // Every service's log files (those started at least once).
  std::vector<LogFile> logs() const;

  nlohmann::json status(const std::string& name);
  nlohmann::json status_all();
  // {"message", "result"}; starting a running service succeeds and says so.
  // `request`: the start's body (null: none), handed to Service::start_with.
  nlohmann::json start(const std::string& name, const nlohmann::json& request = nullptr);
  nlohmann::json stop(const std::string& name);
  nlohmann::json restart(const std::string& name, const nlohmann::json& request = nullptr);

  // The stored config, secrets included: for the service itself, never for a reply.
  nlohmann::json config(const std::string& name) const;
  // The config as GET /services/config shows it: each set secret as "********".
  nlohmann::json shown_config(const std::string& name) const;
  nlohmann::json shown_config_all() const;
  // Validates the merged config as a whole, writes it atomically, applies it live. Returns
  // the keys that need a restart. A secret sent back as "********" keeps its value. Throws
  // ServiceError(invalid) and changes nothing.
  std::vector<std::string> update(const std::string& name, const nlohmann::json& changes);

  // Starts the services that were running when the agent last stopped (config "autostart").
  void autostart();
  // Begins supervision (a thread of its own).
  void start_supervisor();
  // Stops every running service cleanly (agent shutdown). Remembers which ran, for autostart.
  void shutdown();

 private:
  struct Entry {
    std::unique_ptr<Service> service;
    std::mutex op;  // one operation at a time
  };
  Entry& entry(const std::string& name) const;
  void save_config_locked() const;
  void save_running() const;
  void publish(const char* type, const std::string& name, const nlohmann::json& result);

  std::string data_dir_;
  EventBus* events_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::vector<std::string> order_;
  mutable std::mutex config_mu_;
  nlohmann::json config_;  // name -> config
  std::vector<std::string> was_running_;

  std::thread supervisor_;
  std::mutex sup_mu_;
  std::condition_variable sup_cv_;
  bool stop_supervisor_ = false;
};

}  // namespace moccha::services
