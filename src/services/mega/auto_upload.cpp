#include "services/mega/auto_upload.h"

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "services/events.h"
#include "services/mega/mega_service.h"
#include "services/mega/tree.h"

namespace moccha::mega {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {
constexpr int kTries = 8;
}

AutoUpload::AutoUpload(services::EventBus& bus, ConfigOf config_of, MegaService* mega)
    : bus_(bus), config_of_(std::move(config_of)), mega_(mega), thread_([this] { loop(); }) {
  subscription_ = bus_.subscribe([this](const services::Event& e) { on_event(e); });
}

AutoUpload::~AutoUpload() {
  bus_.unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (!waiting_.empty())
      log::warn("upload_to_mega: {} upload(s) not started before the agent stopped",
                waiting_.size());
  }
  cv_.notify_all();
  thread_.join();
}

void AutoUpload::on_event(const services::Event& e) {
  if (e.type != "download.finished" && e.type != "download.failed") return;
  std::string service = e.data.value("service", "");
  if (service == "mega") {  // one of ours ending? (it may end before start() knows its id)
    bool ok = e.type == "download.finished";
    std::string why = !ok && e.data.value("error", json()).is_string()
                          ? e.data["error"].get<std::string>()
                          : "the upload failed";
    std::lock_guard lock(mu_);
    std::string id = e.data.value("native_id", "");
    auto it = uploading_.find(id);
    if (it == uploading_.end()) {
      ended_[id] = {ok, why};  // the latest 100 (transfers of anyone's)
      ended_order_.push_back(id);
      if (ended_order_.size() > 100) {
        ended_.erase(ended_order_.front());
        ended_order_.pop_front();
      }
      return;
    }
    Job job = std::move(it->second);
    uploading_.erase(it);
    ended_locked(std::move(job), ok, why);
    return;
  }
  if (e.type != "download.finished" || !config_of_) return;
  json config = config_of_(service);
  std::string folder = config.is_object() ? config.value("upload_to_mega", "") : "";
  std::string path = e.data.value("path", "");
  if (folder.empty() || path.empty()) return;
  Job job{service, e.data.value("id", ""), path, folder,
          config.value("remove_after_upload", false)};
  job.due = Clock::now();
  std::lock_guard lock(mu_);
  waiting_.push_back(std::move(job));
  cv_.notify_all();
}

void AutoUpload::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (waiting_.empty()) {
      cv_.wait(lock, [this] { return stop_ || !waiting_.empty(); });
      continue;
    }
    auto next = std::min_element(waiting_.begin(), waiting_.end(),
                                 [](const Job& a, const Job& b) { return a.due < b.due; });
    if (next->due > Clock::now()) {
      cv_.wait_until(lock, next->due);
      continue;
    }
    Job job = std::move(*next);
    waiting_.erase(next);
    lock.unlock();
    start(std::move(job));
    lock.lock();
  }
}

void AutoUpload::start(Job job) {
  try {
    if (split_path(job.folder)) mega_->mkdir(job.folder);  // "/" is there already
    std::string id = mega_->upload(job.path, job.folder);
    log::info("upload_to_mega: {} finished {}: uploading to MEGA {} (transfer {})", job.service,
              job.path, job.folder, id);
    std::lock_guard lock(mu_);
    auto early = ended_.find(id);
    if (early == ended_.end()) {
      uploading_[id] = std::move(job);
      return;
    }
    auto [ok, why] = early->second;
    ended_.erase(early);
    ended_locked(std::move(job), ok, why);
  } catch (const std::exception& e) {
    retry(std::move(job), e.what());
  }
}

void AutoUpload::ended_locked(Job job, bool ok, const std::string& why) {
  if (!ok) {
    if (++job.tries >= kTries) {
      log::warn("upload_to_mega: {} not uploaded after {} tries: {}", job.path, kTries, why);
      return;
    }
    job.due = Clock::now() + std::chrono::seconds(1 << job.tries);
    waiting_.push_back(std::move(job));
    cv_.notify_all();
    return;
  }
  log::info("upload_to_mega: {} is in MEGA at {}", job.path, job.folder);
  if (!job.remove_after) return;
  std::error_code ec;
  fs::remove_all(job.path, ec);
  if (ec)
    log::warn("upload_to_mega: cannot remove {}: {}", job.path, ec.message());
  else
    log::info("upload_to_mega: removed the local copy {}", job.path);
}

void AutoUpload::retry(Job job, const std::string& why) {
  if (++job.tries >= kTries) {
    log::warn("upload_to_mega: {} not uploaded after {} tries: {}", job.path, kTries, why);
    return;
  }
  log::info("upload_to_mega: {} not uploaded yet ({}); trying again in {} s", job.path, why,
            1 << job.tries);
  job.due = Clock::now() + std::chrono::seconds(1 << job.tries);
  std::lock_guard lock(mu_);
  waiting_.push_back(std::move(job));
  cv_.notify_all();
}

}  // namespace moccha::mega
