// The `tunnel` service: a way in to an agent that listens on 127.0.0.1 of a machine nobody can
// reach (a notebook VM). It runs one tunnel program, supervised like the engines (Daemon:
// pidfile, bounded output, back-off restarts), and reads the public address from what it says:
//   ssh          `ssh -N -R` to a host the user names, with a key file, keepalives, and the
//                host key pinned in its own known_hosts on first use;
//   cloudflared  a quick tunnel (`cloudflared tunnel --url`), its trycloudflare.com URL;
//   ngrok        `ngrok http`, the URL of its "started tunnel" log line (the authtoken in a
//                0600 config file, never on the command line).
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "services/daemon_service.h"

namespace moccha::tunnel {

class TunnelService : public services::DaemonService {
 public:
  TunnelService(std::string data_dir, services::EventBus* events);
  ~TunnelService() override;

  std::string name() const override { return "tunnel"; }
  nlohmann::json defaults() const override;
  std::vector<std::string> secrets() const override { return {"ngrok_authtoken"}; }
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;

  // The agent's own port, the tunnel's far end (known once the server listens).
  void set_agent_port(int port) { agent_port_ = port; }
  // The public address while the tunnel is up ("https://x.trycloudflare.com"), else empty.
  std::string public_url();
  // The same, for a check on the I/O thread: never waits for a start in progress.
  std::string public_url_now() const;

 private:
  struct Plan;  // the program to run and how to read its address
  Plan plan(const nlohmann::json& config) const;
  nlohmann::json start_locked(const nlohmann::json& config) override;
  void on_death_locked() override { set_public_url_locked({}); }
  void set_public_url_locked(std::string url);
  std::string dir() const;

  std::string data_dir_;
  std::atomic<int> agent_port_{0};
  std::string public_url_;
  mutable std::mutex url_mu_;  // guards url_now_, a copy of public_url_ read without mu_
  std::string url_now_;
};

}  // namespace moccha::tunnel
