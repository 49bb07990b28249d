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
#include <utility>
#include <vector>

#include "services/aria2/shapes.h"
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

class Aria2Downloads : public services::DownloadSource {
 public:
  // Subscribes to `service`'s notifications.
  Aria2Downloads(Aria2Service* service, store::Database* db, services::EventBus* events);
  ~Aria2Downloads() override;  // unsubscribes (waiting for a notification in progress)

  std::string service() const override { return "aria2"; }
  // http, https, ftp and sftp links.
  bool takes(const std::string& url) const override;
  std::vector<services::DownloadItem> items() override;
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
  // aria2's statuses, in its order (active, waiting, stopped).
  using Known = std::vector<Status>;
  // Every download aria2 knows of, then those only our records know.
  Known all(RpcClient& rpc);
  // Adds the downloads only our records know of (aria2 forgot them, or it is stopped).
  void add_recorded(Known& out, const std::set<std::string>& seen);
  // Calls each(status, record) for each, the records read in place under the lock.
  template <class F>
  void shape(const Known& known, F&& each);
  nlohmann::json status_of(RpcClient& rpc, const std::string& gid);
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
