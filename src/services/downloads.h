// The one download queue: every engine's items in one view and one state vocabulary, as GET
// /downloads answers. Each engine contributes a DownloadSource (an adapter in its own folder)
// that lists its items in the common shape, adds a link, and pauses, resumes or cancels one.
// The queue routes a new link to its engine, keeps each engine's last answer so a stopped
// engine's items are still listed (with no actions), and filters. Blocking: call it from a
// worker thread.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moccha::services {

// The common states, in their usual order of appearance.
inline constexpr const char* kDownloadStates[] = {"queued",    "resolving", "active",
                                                  "paused",    "verifying", "seeding",
                                                  "completed", "failed",    "canceled"};
bool is_download_state(const std::string& s);
bool is_terminal_state(const std::string& s);

// One item: {"id": "SERVICE:NATIVE_ID", "service", "kind", "direction", "name", "state",
// "detail", "progress", "total_bytes", "done_bytes", "download_rate", "upload_rate", "eta",
// "path", "error", "created", "finished", "actions"}. This fills the fields every engine has,
// with nulls where it knows nothing yet; the adapter sets the rest.
nlohmann::json download_item(const std::string& service, const std::string& native_id,
                             const std::string& kind);
// ETA in seconds from what is left and the rate; null when it cannot be told.
nlohmann::json eta_seconds(double total, double done, double rate);

class DownloadSource {
 public:
  virtual ~DownloadSource() = default;
  virtual std::string service() const = 0;
  // Whether a link goes to this engine when the caller does not name one.
  virtual bool takes(const std::string& url) const = 0;
  // Every item, in the common shape. Throws ServiceError(unavailable) when not running.
  virtual std::vector<nlohmann::json> items() = 0;
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

  // {"success", "downloads", "count"}; `states` and `services` are comma lists (empty: all).
  // Throws ServiceError(invalid) for an unknown state or service.
  nlohmann::json list(const std::string& states, const std::string& services);
  // {"success", "id", "service"}.
  nlohmann::json add(const nlohmann::json& request);
  void act(const std::string& id, const std::string& action);

 private:
  DownloadSource& source(const std::string& service);
  std::vector<DownloadSource*> sources_;
  std::mutex mu_;
  std::map<std::string, std::vector<nlohmann::json>> last_;  // service -> last answer
};

}  // namespace moccha::services
