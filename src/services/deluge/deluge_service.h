// Deluge as a managed service: the daemon's lifecycle (install, config, spawn, readiness,
// supervision, stop) and its RPC connection. A `host` other than localhost is a remote daemon
// we connect to but never spawn; so is a local deluged already on the port that takes our
// login (the user's own). One of ours that an earlier agent left running is stopped first.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "services/deluge/rpc_client.h"
#include "services/deluge/watch_folder.h"
#include "services/deluge/webhooks.h"
#include "services/service.h"

namespace moccha::deluge {

class DelugeService : public services::Service {
 public:
  explicit DelugeService(std::string data_dir);
  ~DelugeService() override;

  std::string name() const override { return "deluge"; }
  nlohmann::json defaults() const override;
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  nlohmann::json start(const nlohmann::json& config) override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;
  void supervise() override;

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
  nlohmann::json start_locked(const nlohmann::json& config);
  // Uses a daemon we do not own (connected, never spawned or stopped).
  nlohmann::json attach_locked(const nlohmann::json& config, std::unique_ptr<RpcClient> rpc);
  // Stops the deluged recorded in CONFIG_DIR/deluged.pid if it is still running from an agent
  // that ended without stopping it (killed), so this start owns its daemon again.
  static void stop_left_behind(const std::filesystem::path& config_dir);
  // Keeps CONFIG_DIR/deluged.out (the daemon's stdout and stderr) bounded.
  void cap_output_locked();
  void stop_locked();
  bool alive_locked();
  // Reaps the child if it has ended, recording how (and scheduling a restart when that was
  // unexpected). True while it lives.
  bool child_alive_locked();
  void install_deluged();
  RpcConfig rpc_config(const nlohmann::json& config) const;
  // The auto_add_folder watcher, with an RPC connection of its own (it never takes mu_).
  void start_watch_locked();
  static void add_from_folder(RpcClient& rpc, const std::string& path);
  // TorrentFinishedEvent -> webhooks, on a connection and thread of their own (never mu_).
  void start_events_locked();
  void stop_events_locked();
  void events_loop(RpcConfig config);
  void set_hooks(const nlohmann::json& config);

  std::string data_dir_;
  std::mutex mu_;
  pid_t pid_ = -1;
  bool external_ = false;  // a daemon we do not own: remote, or already on the port
  bool intended_ = false;  // we want it running (supervision restarts it)
  int restarts_ = 0;
  std::string last_exit_, last_error_;
  nlohmann::json config_;
  std::shared_ptr<RpcClient> rpc_;
  std::unique_ptr<RpcClient> watch_rpc_;
  std::unique_ptr<WatchFolder> watch_;
  std::thread events_thread_;
  std::atomic<bool> events_stop_{false};
  std::mutex hooks_mu_;
  std::vector<std::string> hook_urls_;
  std::string hook_secret_;
  Webhooks webhooks_;
  std::chrono::steady_clock::time_point started_at_{}, restart_at_{};
  bool restart_pending_ = false;
  std::chrono::seconds backoff_{1};
};

}  // namespace moccha::deluge
