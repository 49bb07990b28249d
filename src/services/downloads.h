// The one download queue: every engine's items in one view and one state vocabulary, as GET
// /downloads answers. Each engine contributes a DownloadSource (an adapter in its own folder)
// that lists its items in the common shape, adds a link, and pauses, resumes or cancels one.
// The queue routes a new link to its engine, keeps each engine's last answer so a stopped
// engine's items are still listed (with no actions), and filters. Blocking: call it from a
// worker thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace moccha::services {

// The common states, in their usual order of appearance.
inline constexpr const char* kDownloadStates[] = {"queued",    "resolving", "active",
                                                  "paused",    "verifying", "seeding",
                                                  "completed", "failed",    "canceled"};
bool is_download_state(const std::string& s);
bool is_terminal_state(const std::string& s);

// One item of the queue, in the common shape; GET /downloads writes it as {"id":
// "SERVICE:NATIVE_ID", "service", "kind", "direction", "name", "state", "detail", "progress",
// "total_bytes", "done_bytes", "download_rate", "upload_rate", "eta", "path", "error",
// "created", "finished", "actions"}, with null for what is not known.
struct DownloadItem {
  std::string service, native_id;
  std::string kind;  // torrent | direct | hoster | cloud
  std::string direction = "down";
  std::string name;
  std::string state = "queued";  // one of kDownloadStates
  std::string detail;            // the engine's own state
  double progress = 0;           // 0-100
  std::optional<long long> total_bytes;
  long long done_bytes = 0, download_rate = 0, upload_rate = 0;
  std::optional<long long> eta;  // seconds
  std::optional<std::string> path;
  std::optional<std::string> error_code, error_message;  // both or neither
  std::optional<std::string> created, finished;          // ISO-8601 UTC
  std::vector<std::string> actions;                      // what can be done to it now
};
// Its JSON text; without `actions` when `with_actions` is false (a stopped engine's item).
void append_item_json(std::string& out, const DownloadItem& item, bool with_actions = true);

// ETA in seconds from what is left and the rate; none when it cannot be told.
std::optional<long long> eta_seconds(double total, double done, double rate);

class DownloadSource {
 public:
  virtual ~DownloadSource() = default;
  virtual std::string service() const = 0;
  // Whether a link goes to this engine when the caller does not name one.
  virtual bool takes(const std::string& url) const = 0;
  // Every item, in the common shape. Throws ServiceError(unavailable) when not running.
  virtual std::vector<DownloadItem> items() = 0;
  // Adds the link of a POST /downloads body ({"url", ...}); returns the native id. Throws
  // ServiceError (invalid, unavailable, conflict) or http::ApiError.
  virtual std::string add(const nlohmann::json& request) = 0;
  // "pause", "resume" or "cancel" on one item. Throws ServiceError(not_found, ...).
  virtual void act(const std::string& native_id, const std::string& action) = 0;
};

class DownloadQueue {
 public:
  // Sources are consulted in this order for routing and listing; they outlive the queue.
  void add_source(DownloadSource* source);

  // The body of GET /downloads, {"count", "downloads", "success"}, written item by item
  // from each engine's answer (asked all at once); `states` and `services` are comma lists
  // (empty: all). Throws ServiceError(invalid) for an unknown state or service.
  std::string list_body(const std::string& states, const std::string& services);
  // {"success", "id", "service"}.
  nlohmann::json add(const nlohmann::json& request);
  void act(const std::string& id, const std::string& action);

  // Each running engine's totals, for metrics (a stopped engine is left out; nothing throws).
  struct EngineSummary {
    std::string service;
    long long download_rate = 0, upload_rate = 0;  // bytes per second, all items
    int active = 0, queued = 0, seeding = 0;
  };
  std::vector<EngineSummary> summary();

 private:
  struct Answer {
    std::string service;
    std::shared_ptr<const std::vector<DownloadItem>> items;
    bool stale = false;  // the engine did not answer: its last answer (may be null)
  };
  // Asks every source at once; a stopped engine gives its last answer. With `rethrow`, any
  // error but "unavailable" is thrown, else it counts as stale.
  std::vector<Answer> ask(const std::vector<DownloadSource*>& sources, bool rethrow);
  DownloadSource& source(const std::string& service);
  std::vector<DownloadSource*> sources_;
  std::mutex mu_;
  // service -> its last answer, shared with listings being written
  std::map<std::string, std::shared_ptr<const std::vector<DownloadItem>>> last_;
};

}  // namespace moccha::services
