#include "services/deluge/deluge_downloads.h"

#include <filesystem>

#include "core/text.h"
#include "core/time_util.h"
#include "services/deluge/deluge_service.h"
#include "services/deluge/torrent_file.h"
#include "services/service.h"

namespace moccha::deluge {

using json = nlohmann::json;
using services::ServiceError;

namespace {

const json& item_keys() {
  static const json keys = {"name",
                            "state",
                            "is_finished",
                            "progress",
                            "total_wanted",
                            "total_done",
                            "download_payload_rate",
                            "upload_payload_rate",
                            "download_location",
                            "time_added",
                            "completed_time",
                            "message"};
  return keys;
}

double number(const json& s, const char* key) {
  auto it = s.find(key);
  return it != s.end() && it->is_number() ? it->get<double>() : 0.0;
}

json time_or_null(double epoch) {
  if (epoch <= 0) return nullptr;
  return iso8601_utc(
      std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long long>(epoch))));
}

json item_of(const std::string& hash, const json& s) {
  json item = services::download_item("deluge", hash, "torrent");
  std::string detail = s.value("state", "");
  bool finished = s.value("is_finished", false);
  std::string state = common_state(detail, finished);
  double total = number(s, "total_wanted"), done = number(s, "total_done");
  double down = number(s, "download_payload_rate");
  item["name"] = s.value("name", "");
  item["state"] = state;
  item["detail"] = detail;
  item["progress"] = number(s, "progress");
  item["total_bytes"] = static_cast<long long>(total);
  item["done_bytes"] = static_cast<long long>(done);
  item["download_rate"] = static_cast<long long>(down);
  item["upload_rate"] = static_cast<long long>(number(s, "upload_payload_rate"));
  item["eta"] = services::eta_seconds(total, done, down);
  item["path"] =
      (std::filesystem::path(s.value("download_location", "")) / s.value("name", "")).string();
  if (state == "failed") item["error"] = {{"code", "deluge"}, {"message", s.value("message", "")}};
  item["created"] = time_or_null(number(s, "time_added"));
  item["finished"] = finished ? time_or_null(number(s, "completed_time")) : json(nullptr);
  if (state == "paused")
    item["actions"] = {"resume", "cancel"};
  else if (state == "completed" || state == "failed")
    item["actions"] = {"resume", "cancel"};
  else
    item["actions"] = {"pause", "cancel"};
  return item;
}

// Deluge's errors in the queue's terms: its refusal is the caller's 400, a reply we cannot read
// a 502, and a daemon out of reach one that is not running.
template <class F>
auto guarded(F f) {
  try {
    return f();
  } catch (const RpcError& e) {
    using K = RpcError::Kind;
    if (e.kind == K::remote) throw ServiceError(ServiceError::Kind::invalid, e.what());
    if (e.kind == K::protocol) throw ServiceError(ServiceError::Kind::bad_reply, e.what());
    throw ServiceError(ServiceError::Kind::unavailable, std::string("deluged: ") + e.what());
  }
}

}  // namespace

std::string common_state(const std::string& s, bool finished) {
  if (s == "Queued") return "queued";
  if (s == "Downloading") return "active";
  if (s == "Seeding") return "seeding";
  if (s == "Paused") return finished ? "completed" : "paused";
  if (s == "Checking" || s == "Allocating" || s == "Moving") return "verifying";
  if (s == "Error") return "failed";
  return "queued";
}

bool DelugeDownloads::takes(const std::string& url) const {
  if (url.starts_with("magnet:")) return true;
  if (!url.starts_with("http://") && !url.starts_with("https://")) return false;
  std::string path = url.substr(0, url.find_first_of("?#"));
  return path.size() > 8 && iequals(std::string_view(path).substr(path.size() - 8), ".torrent");
}

std::vector<json> DelugeDownloads::items() {
  return guarded([&] { return list(); });
}

std::vector<json> DelugeDownloads::list() {
  auto rpc = service_->rpc();
  json all = rpc->call("core.get_torrents_status", json::array({json::object(), item_keys()}));
  std::vector<json> out;
  if (!all.is_object()) throw ServiceError(ServiceError::Kind::bad_reply, "deluged's list");
  for (const auto& [hash, s] : all.items()) out.push_back(item_of(hash, s));
  return out;
}

std::string DelugeDownloads::add(const json& request) {
  return guarded([&] { return add_link(request); });
}

std::string DelugeDownloads::add_link(const json& request) {
  std::string url = request.at("url").get<std::string>();
  json options = {{"add_paused", request.value("paused", false)}};
  if (request.contains("dir")) {
    std::string dir = request["dir"].is_string() ? request["dir"].get<std::string>() : "";
    if (!std::filesystem::path(dir).is_absolute())
      throw ServiceError(ServiceError::Kind::invalid, "'dir' must be an absolute path");
    options["download_location"] = dir;
  }
  auto rpc = service_->rpc();
  json added;
  if (url.starts_with("magnet:")) {
    auto hash = magnet_info_hash(url);
    if (!hash)
      throw ServiceError(ServiceError::Kind::invalid,
                         "malformed magnet link: it needs xt=urn:btih:HASH");
    json s = rpc->call("core.get_torrent_status", json::array({*hash, json::array({"name"})}));
    if (s.is_object() && !s.empty())
      throw ServiceError(ServiceError::Kind::conflict, "torrent already added: " + *hash);
    added = rpc->call("core.add_torrent_magnet", json::array({url, options}));
  } else if (url.starts_with("http://") || url.starts_with("https://")) {
    added = rpc->call("core.add_torrent_url", json::array({url, options}));
  } else {
    throw ServiceError(ServiceError::Kind::invalid,
                       "deluge takes magnet links and http(s) URLs of .torrent files");
  }
  if (!added.is_string() || added.get<std::string>().empty())
    throw ServiceError(ServiceError::Kind::failed, "deluged did not add the torrent");
  return added.get<std::string>();
}

void DelugeDownloads::act(const std::string& hash, const std::string& action) {
  guarded([&] { control(hash, action); });
}

void DelugeDownloads::control(const std::string& hash, const std::string& action) {
  auto rpc = service_->rpc();
  json s = rpc->call("core.get_torrent_status", json::array({hash, json::array({"name"})}));
  if (!s.is_object() || s.empty())
    throw ServiceError(ServiceError::Kind::not_found, "unknown download 'deluge:" + hash + "'");
  if (action == "pause")
    rpc->call("core.pause_torrent", json::array({json::array({hash})}));
  else if (action == "resume")
    rpc->call("core.resume_torrent", json::array({json::array({hash})}));
  else if (action == "cancel")
    rpc->call("core.remove_torrent", json::array({hash, false}));
  else
    throw ServiceError(ServiceError::Kind::invalid, "unknown action '" + action + "'");
}

}  // namespace moccha::deluge
