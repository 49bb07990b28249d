// What every service that runs a daemon shares around its Daemon: one lock, whether the user
// wants it running, the config it was started with, and the start / supervise / death wiring,
// written once. A service adds its own start_locked(), stop, status and endpoints.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "services/daemon.h"
#include "services/service.h"

namespace moccha::services {

class DaemonService : public Service {
 public:
  // Cancels a scheduled restart (the user acts now) and starts under the lock.
  nlohmann::json start(const nlohmann::json& config) final {
    std::lock_guard lock(mu_);
    daemon_.cancel_restart();
    return start_locked(config);
  }
  std::vector<LogFile> logs() const final { return daemon_.logs(); }
  // Restarts a daemon that died, with back-off, while the user wants it running.
  void supervise() final {
    std::lock_guard lock(mu_);
    if (!intended_ || !supervised_locked()) return;
    daemon_.supervise([this] { start_locked(config_); });
  }

 protected:
  DaemonService(std::string service, std::string program, EventBus* events)
      : daemon_(std::move(service), std::move(program), events) {
    daemon_.on_death([this] {
      on_death_locked();
      if (!config_.value("auto_restart", true)) intended_ = false;
    });
  }

  // Starts with `config` (stores it in config_); under mu_.
  virtual nlohmann::json start_locked(const nlohmann::json& config) = 0;
  // What a death of the daemon leaves to tear down (its clients); under mu_.
  virtual void on_death_locked() {}
  // False while the service uses a daemon that is not ours (nothing to restart).
  virtual bool supervised_locked() const { return true; }

  std::mutex mu_;
  Daemon daemon_;
  bool intended_ = false;  // the user wants it running: supervision restarts it
  nlohmann::json config_;
};

}  // namespace moccha::services
