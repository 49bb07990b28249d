// JDownloader as a managed service: its config (the cfg/*.json files JD reads, written only
// while JD is stopped, since JD rewrites them from memory on exit), its jar (fetched from the
// configured installer URL when missing and auto_install is on), and its local API client.
// Its life is services::Daemon's. A JD already answering on host:port (the user's own) is used
// as it is, never stopped: a stop detaches.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "services/daemon_service.h"
#include "services/jdownloader/api_client.h"

namespace moccha::jd {

class JdService : public services::DaemonService {
 public:
  JdService(std::string data_dir, services::EventBus* events);
  ~JdService() override;

  std::string name() const override { return "jdownloader"; }
  nlohmann::json defaults() const override;
  std::vector<std::string> secrets() const override { return {"myjd_password", "webhook_secret"}; }
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;

  // The API client of the running JD. Throws ServiceError(unavailable) when not running.
  std::shared_ptr<ApiClient> api();
  // The config's download_path: where links go without a destination of their own.
  std::string download_path();

  // What Moccha writes into JD's cfg files for `config`, merged over what is there:
  // {"org.jdownloader.api.RemoteAPIConfig.json": {...}, ...}.
  static nlohmann::json cfg_files(const nlohmann::json& config);

 private:
  nlohmann::json start_locked(const nlohmann::json& config) override;
  void on_death_locked() override { api_.reset(); }
  bool supervised_locked() const override { return !external_; }
  nlohmann::json attach_locked(const nlohmann::json& config, std::shared_ptr<ApiClient> api);
  void stop_locked();
  void ensure_jar(const nlohmann::json& config);
  void write_cfg(const nlohmann::json& config);
  std::shared_ptr<ApiClient> client_for(const nlohmann::json& config,
                                        std::chrono::milliseconds timeout) const;

  std::string data_dir_;
  bool external_ = false;  // a JD already on the port: used, never stopped
  std::shared_ptr<ApiClient> api_;
};

}  // namespace moccha::jd
