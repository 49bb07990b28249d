// aria2's downloads: added (validated before aria2 sees them), listed in aria2's shape for
// /services/aria2/downloads and in the common one for /downloads, paused, resumed, removed
// (with their files, inside the download's own directory, when asked: aria2 never deletes).
// Moccha keeps a record of each download in moccha.db (its link, when it was added, how it
// ended), so finished and failed ones stay listed after aria2 forgets them (a restart), until
// removed. Completion and failure come from aria2's notifications, published on the bus.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "services/downloads.h"

namespace moccha::store {
class Database;
}
namespace moccha::services {
class EventBus;
}

namespace moccha::aria2 {

class Aria2Service;
class RpcClient;

// aria2's status as a common state (a seeder is "seeding").
std::string common_state(const std::string& aria2_status, bool seeder = false);

class Aria2Downloads : public services::DownloadSource {
 public:
  // Subscribes to `service`'s notifications.
  Aria2Downloads(Aria2Service* service, store::Database* db, services::EventBus* events);
  ~Aria2Downloads() override;  // unsubscribes (waiting for a notification in progress)

  std::string service() const override { return "aria2"; }
  // http, https, ftp and sftp links.
  bool takes(const std::string& url) const override;
  std::vector<nlohmann::json> items() override;
  // {"url"} or {"urls": [mirrors]}, optional "dir", "out", "headers", "checksum",
  // "connections", "paused". Throws ServiceError(invalid) naming the field.
  std::string add(const nlohmann::json& request) override;
  void act(const std::string& gid, const std::string& action) override;

  // /services/aria2/downloads[?state=]: {"success", "downloads", "count"}.
  nlohmann::json list(const std::string& states);
  // One download with its "files" and "uris".
  nlohmann::json details(const std::string& gid);
  void pause(const std::string& gid);
  void resume(const std::string& gid);
  void remove(const std::string& gid, bool remove_data);
  nlohmann::json stats();

 private:
  // Every download aria2 knows of, by gid (its raw status), plus those only our records know.
  std::map<std::string, nlohmann::json> all(RpcClient& rpc);
  // Adds the downloads only our records know of (aria2 forgot them, or it is stopped).
  void add_recorded(std::map<std::string, nlohmann::json>& out);
  nlohmann::json status_of(RpcClient& rpc, const std::string& gid);
  nlohmann::json item(const std::string& gid, const nlohmann::json& status);
  void on_event(const std::string& method, const std::string& gid, RpcClient& rpc);
  // After each (re)connection: what ended while nobody listened is recorded and published.
  void catch_up(RpcClient& rpc);
  // Records how `gid` ended (once) and publishes download.finished or download.failed.
  void record_end(const std::string& gid, const nlohmann::json& status);
  nlohmann::json record(const std::string& gid);
  void save(const std::string& gid, const nlohmann::json& record);

  Aria2Service* service_;
  store::Database* db_;
  services::EventBus* events_;
  std::mutex mu_;
  std::map<std::string, nlohmann::json> records_;  // gid -> record (the db's rows, cached)
  // Removed by the user: a late notification about one must not bring its record back.
  std::set<std::string> forgotten_;
};

}  // namespace moccha::aria2
