// upload_to_mega: a download another engine finished is uploaded to the MEGA folder that
// engine's config names (made if missing), as a MEGA transfer of its own (so it shows in
// /downloads), and its local copy removed afterwards when remove_after_upload is set. Fed by
// the event bus (download.finished); runs on a thread of its own. An upload that cannot start
// (MEGA not logged in, unreachable) or that fails is tried again with back-off: 2, 4, 8 ... s,
// 8 tries in all (about 8 minutes).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace moccha::services {
struct Event;
class EventBus;
}  // namespace moccha::services

namespace moccha::mega {

class MegaService;

class AutoUpload {
 public:
  using ConfigOf = std::function<nlohmann::json(const std::string&)>;
  AutoUpload(services::EventBus& bus, ConfigOf config_of, MegaService* mega);
  ~AutoUpload();  // unsubscribes; what waits is dropped (logged); joins

 private:
  struct Job {
    std::string service, id, path, folder;
    bool remove_after = false;
    int tries = 0;
    std::chrono::steady_clock::time_point due{};
  };
  void on_event(const services::Event& e);
  void loop();
  void start(Job job);  // the thread's: submits the upload, or schedules the next try
  void retry(Job job, const std::string& why);
  // A transfer of ours ended: remove the local copy, or try again (under mu_).
  void ended_locked(Job job, bool ok, const std::string& why);

  services::EventBus& bus_;
  ConfigOf config_of_;
  MegaService* mega_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> waiting_;
  std::map<std::string, Job> uploading_;                       // MEGA transfer id -> its job
  std::map<std::string, std::pair<bool, std::string>> ended_;  // ended before it was known
  std::deque<std::string> ended_order_;
  bool stop_ = false;
  int subscription_ = -1;
  std::thread thread_;
};

}  // namespace moccha::mega
