// aria2 as a managed service: its config (a 0600 conf file, so the RPC secret is in no command
// line), the session file that carries unfinished downloads across restarts and kills, its
// RPC client and its WebSocket notifications. Its life is services::Daemon's; the downloads
// themselves (add, list, control, the history Moccha keeps) are Aria2Downloads'.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "services/aria2/rpc_client.h"
#include "services/daemon_service.h"

namespace moccha::aria2 {

class Notifications;

class Aria2Service : public services::DaemonService {
 public:
  Aria2Service(std::string data_dir, services::EventBus* events);
  ~Aria2Service() override;

  std::string name() const override { return "aria2"; }
  nlohmann::json defaults() const override;
  std::vector<std::string> secrets() const override { return {"rpc_secret", "webhook_secret"}; }
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;

  // Where notifications go: `on_event(method, gid, rpc)` for each, `on_connect(rpc)` after
  // each (re)connection, on the notifications' thread, with an RPC client of that aria2c
  // (never under the service's lock). Setting them again (empty, to stop) waits for a call in
  // progress to end.
  using OnEvent = std::function<void(const std::string&, const std::string&, RpcClient&)>;
  using OnConnect = std::function<void(RpcClient&)>;
  void on_notification(OnEvent on_event, OnConnect on_connect);

  // The RPC client of the running aria2c. Throws ServiceError(unavailable) when not running.
  std::shared_ptr<RpcClient> rpc();
  // The directory downloads go to by default.
  std::string download_path();

  // The conf file's text for `config` (its RPC port, secret, paths and limits).
  static std::string conf_text(const nlohmann::json& config, const std::string& secret,
                               const std::string& dir);
  // Our config as aria2's global options (speeds KiB/s -> bytes/s as "NK", 0 = unlimited).
  static nlohmann::json global_options(const nlohmann::json& config);

 private:
  nlohmann::json start_locked(const nlohmann::json& config) override;
  void on_death_locked() override;
  void stop_locked();
  std::string dir() const;

  std::string data_dir_;
  std::shared_ptr<RpcClient> rpc_;
  std::unique_ptr<Notifications> notifications_;
  std::mutex hooks_mu_;  // guards the two below; never taken with mu_ held by a hook
  OnEvent on_event_;
  OnConnect on_connect_;
};

}  // namespace moccha::aria2
