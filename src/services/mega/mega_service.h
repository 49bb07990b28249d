// MEGA as a service: a login (kept in DATA_DIR/mega/session between runs) instead of a
// daemon, the account's files by path, and transfers queued on Transfers. Running means
// logged in. Every call blocks on MEGA's API; call from a worker thread. Local paths come
// already resolved and allowed by the caller (files.roots is the API layer's).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "services/mega/account.h"
#include "services/mega/tree.h"
#include "services/service.h"

namespace moccha::services {
class EventBus;
}

namespace moccha::mega {

class Transfers;
class Transfer;
class RateLimit;

class MegaService : public services::Service {
 public:
  MegaService(std::string data_dir, services::EventBus* events);
  ~MegaService() override;

  std::string name() const override { return "mega"; }
  nlohmann::json defaults() const override;
  std::vector<std::string> secrets() const override { return {"password", "webhook_secret"}; }
  void validate(const nlohmann::json& config) const override;
  nlohmann::json status() override;
  nlohmann::json start(const nlohmann::json& config) override;
  nlohmann::json start_with(const nlohmann::json& config, const nlohmann::json& request) override;
  void stop() override;
  bool running() override;
  std::vector<std::string> apply(const nlohmann::json& before,
                                 const nlohmann::json& after) override;

  // The account's figures: storage_used, storage_total, transfer_used, transfer_total,
  // account_type.
  nlohmann::json quota();
  // {"path", "items": [{"name", "type", "size", "modified", "handle"}]}.
  nlohmann::json list(const std::string& path);
  void mkdir(const std::string& path);  // parents made; an existing folder is no error
  void move(const std::string& from, const std::string& to_dir);
  void rename(const std::string& path, const std::string& name);
  void remove(const std::string& path, bool permanent);
  std::string link(const std::string& path);
  // Queue a transfer; return its id. `local` is a file or folder; `remote_dir` must exist.
  std::string upload(const std::filesystem::path& local, const std::string& remote_dir);
  // `what` is a path of the account or a public link; into `local_dir` (made if missing).
  std::string download(const std::string& what, const std::filesystem::path& local_dir);
  nlohmann::json transfers();
  nlohmann::json transfer(const std::string& id);  // throws not_found
  void cancel(const std::string& id);
  std::string download_path();

 private:
  nlohmann::json start_locked(const nlohmann::json& config, const std::string& mfa);
  // A command under the session; a session MEGA expired (-15) logs in again, once.
  nlohmann::json call(const nlohmann::json& command, const std::string& folder = "");
  std::shared_ptr<const Tree> tree(bool fresh = false);
  const Node& node_at(const Tree& t, const std::string& path);  // throws not_found
  const Node& folder_at(const Tree& t, const std::string& path);
  std::string mkdir_in(const std::string& parent, const std::string& name);
  void require_running();
  void on_transfer_end(const nlohmann::json& transfer);
  std::filesystem::path session_file() const;
  void upload_tree(const std::filesystem::path& local, const std::string& parent, Transfer& t,
                   RateLimit& limit);

  std::string data_dir_;
  services::EventBus* events_;
  std::mutex mu_;  // the session and config below
  nlohmann::json config_;
  std::unique_ptr<ApiClient> api_;
  std::optional<Session> session_;
  std::mutex tree_mu_;  // the tree below; taken before mu_, never under it
  std::shared_ptr<const Tree> tree_;
  std::chrono::steady_clock::time_point tree_at_;
  nlohmann::json quota_;  // the last figures, for status
  std::unique_ptr<Transfers> transfers_;
};

// MEGA's error as the service's: not found 404, over quota 507, unreachable 502, ...
[[noreturn]] void rethrow_mega_error(const MegaError& e);

}  // namespace moccha::mega
