// Deluge as a managed service: its config (core.conf, the auth file), its RPC connection and
// its events; the daemon's life is services::Daemon's. A `host` other than localhost is a remote
// daemon we connect to but never spawn; so is a local deluged already on the port that takes our
// login (the user's own). One of ours that an earlier agent left running is stopped first.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "services/daemon_service.h"
#include "services/deluge/rpc_client.h"
#include "services/deluge/watch_folder.h"

namespace moccha::deluge {

class DelugeService : public services::DaemonService {
 public:
  DelugeService(std::string data_dir, services::EventBus* events);
  ~DelugeService() override;

  std::string name() const override { return "deluge"; }
  nlohmann::json defaults() const override;
  std::vector<std::string> secrets() const override { return {"password", "webhook_secret"}; }
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;

  // The RPC connection of the running daemon, for the torrent endpoints; shared, so a call in
  // flight keeps it alive through a concurrent stop (and fails then, instead of crashing).
  // Throws ServiceError(unavailable) when it is not running.
  std::shared_ptr<RpcClient> rpc();

  // Deluge's core.conf: a version header object, then the settings object.
  static std::string core_conf(const nlohmann::json& settings);
  static nlohmann::json parse_core_conf(const std::string& text);
  // Our config keys as Deluge's core settings (speeds KiB/s, 0 = unlimited -> -1).
  static nlohmann::json core_settings(const nlohmann::json& config);

 private:
  nlohmann::json start_locked(const nlohmann::json& config) override;
  // Uses a daemon we do not own (connected, never spawned or stopped).
  nlohmann::json attach_locked(const nlohmann::json& config, std::unique_ptr<RpcClient> rpc);
  void stop_locked();
  bool alive_locked();
  // What a death of the daemon leaves to tear down (events, watcher, connection).
  void on_death_locked() override;
  bool supervised_locked() const override { return !external_; }
  void install_deluged();
  RpcConfig rpc_config(const nlohmann::json& config) const;
  // The auto_add_folder watcher, with an RPC connection of its own (it never takes mu_).
  void start_watch_locked();
  static void add_from_folder(RpcClient& rpc, const std::string& path);
  // Deluge's torrent events -> download.* on the bus, on a connection and thread of their own
  // (never mu_).
  void start_events_locked();
  void stop_events_locked();
  void events_loop(RpcConfig config);
  void forward(RpcClient& rpc, const nlohmann::json& event);

  std::string data_dir_;
  services::EventBus* events_;
  bool external_ = false;  // a daemon we do not own: remote, or already on the port
  std::shared_ptr<RpcClient> rpc_;
  std::unique_ptr<RpcClient> watch_rpc_;
  std::unique_ptr<WatchFolder> watch_;
  std::thread events_thread_;
  std::atomic<bool> events_stop_{false};
};

}  // namespace moccha::deluge
