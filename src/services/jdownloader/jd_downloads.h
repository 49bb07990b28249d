// JDownloader's links and packages: added (JD crawls them into its link grabber), confirmed
// into the download list, listed, paused (disabled), resumed (enabled, and the controller
// started: JD ends its download session when nothing is left to start), removed (with their
// files, inside the package's folder, when asked), and the download controller. Ids are JD's
// 64-bit uuids, written as decimal strings (a JSON number loses them past 2^53).
//
// JD's local API pushes nothing: a watcher polls the download list once a second while JD
// runs and publishes download.added / download.state / download.finished / download.failed on
// the bus (so webhooks fire for JD too).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "services/downloads.h"

namespace moccha::services {
class EventBus;
}

namespace moccha::jd {

class JdService;
class ApiClient;

class JdDownloads : public services::DownloadSource {
 public:
  JdDownloads(JdService* service, services::EventBus* events);
  ~JdDownloads() override;  // stops the watcher

  std::string service() const override { return "jdownloader"; }
  // No link goes to JD unless asked for ("service": "jdownloader"): direct links are aria2's.
  bool takes(const std::string&) const override { return false; }
  std::vector<services::DownloadItem> items() override;
  std::string add(const nlohmann::json& request) override;
  void act(const std::string& id, const std::string& action) override;

  // POST /services/jdownloader/links: {"links": [...]} or {"text"}, optional "package_name",
  // "destination", "autostart", "extract_password", "download_password". Returns the job id.
  std::string add_links(const nlohmann::json& body);
  nlohmann::json linkgrabber();
  void confirm(const nlohmann::json& body);  // {"package_ids": [...]}
  void clear();
  nlohmann::json downloads();
  // pause | resume | remove, on a link's or a package's id.
  void control(const std::string& id, const std::string& action, bool remove_data);
  // start | stop | pause (`paused`, default true).
  void controller(const std::string& action, bool paused);
  nlohmann::json stats();

 private:
  void watch();
  // One look at the download list: publishes what changed since the last (under mu_).
  void poll_locked(ApiClient& api);

  JdService* service_;
  services::EventBus* events_;
  std::mutex mu_;
  std::map<long long, std::string> seen_;  // link uuid -> common state, for the watcher
  bool seeded_ = false;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace moccha::jd
