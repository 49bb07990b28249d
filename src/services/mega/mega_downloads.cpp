#include "services/mega/mega_downloads.h"

#include "services/mega/links.h"
#include "services/mega/mega_service.h"

namespace moccha::mega {

using nlohmann::json;
using services::ServiceError;

bool MegaDownloads::takes(const std::string& url) const {
  return is_mega_url(url);
}

std::vector<services::DownloadItem> MegaDownloads::items() {
  if (!service_->running())
    throw ServiceError(ServiceError::Kind::unavailable, "mega is not running (not logged in)");
  std::vector<services::DownloadItem> out;
  for (const json& t : service_->transfers()) {
    services::DownloadItem it;
    it.service = "mega";
    it.native_id = t.value("id", "");
    it.kind = "cloud";
    it.direction = t.value("direction", "down");
    it.name = t.value("name", "");
    std::string st = t.value("state", "queued");
    it.state = st;
    it.detail = st;
    it.progress = t.value("progress", 0.0);
    it.total_bytes = t.value("bytes_total", 0LL);
    it.done_bytes = t.value("bytes_done", 0LL);
    (it.direction == "up" ? it.upload_rate : it.download_rate) = t.value("speed", 0LL);
    if (t["eta"].is_number()) it.eta = t["eta"].get<long long>();
    it.path = t.value(it.direction == "up" ? "remote_path" : "local_path", "");
    if (t["error"].is_string()) {
      it.error_code = "transfer_failed";
      it.error_message = t["error"].get<std::string>();
    }
    it.created = t.value("created", "");
    if (t["finished"].is_string()) it.finished = t["finished"].get<std::string>();
    if (st == "queued" || st == "active") it.actions = {"cancel"};
    out.push_back(std::move(it));
  }
  return out;
}

std::string MegaDownloads::add(const json& request) {
  std::string url = request.value("url", "");
  if (!parse_link(url))
    throw ServiceError(ServiceError::Kind::invalid,
                       "mega takes MEGA file and folder links with their key");
  return service_->download(url, service_->download_path());
}

void MegaDownloads::act(const std::string& id, const std::string& action) {
  if (action != "cancel")
    throw ServiceError(ServiceError::Kind::invalid,
                       "a MEGA transfer can be cancelled, not " +
                           std::string(action == "pause" ? "paused" : "resumed"));
  service_->cancel(id);
}

}  // namespace moccha::mega
