#include "services/deluge/deluge_downloads.h"

#include <filesystem>

#include "core/text.h"
#include "core/time_util.h"
#include "services/deluge/deluge_service.h"
#include "services/deluge/rencode.h"
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

std::optional<std::string> time_of(double epoch) {
  if (epoch <= 0) return std::nullopt;
  return iso8601_utc(
      std::chrono::system_clock::time_point(std::chrono::seconds(static_cast<long long>(epoch))));
}

// One torrent's status, read in place from deluged's rencoded reply.
struct Status {
  std::string_view name, state, location, message;
  bool finished = false;
  double progress = 0, wanted = 0, done = 0, down = 0, up = 0, added = 0, completed = 0;
};

double number_at(RencodeReader& r) {
  switch (r.type()) {
    case RencodeReader::Type::integer:
      return static_cast<double>(r.integer());
    case RencodeReader::Type::float32:
    case RencodeReader::Type::float64:
      return r.floating();
    case RencodeReader::Type::boolean:
      return r.boolean() ? 1 : 0;
    default:
      r.skip();
      return 0;
  }
}

std::string_view text_at(RencodeReader& r) {
  if (r.type() == RencodeReader::Type::string) return r.string();
  r.skip();
  return {};
}

// One value of a torrent's status into `st`, by its key; others are left (and skipped).
void read_field(Status& st, std::string_view k, RencodeReader& r) {
  if (k == "name")
    st.name = text_at(r);
  else if (k == "state")
    st.state = text_at(r);
  else if (k == "download_location")
    st.location = text_at(r);
  else if (k == "message")
    st.message = text_at(r);
  else if (k == "is_finished")
    st.finished = number_at(r) != 0;
  else if (k == "progress")
    st.progress = number_at(r);
  else if (k == "total_wanted")
    st.wanted = number_at(r);
  else if (k == "total_done")
    st.done = number_at(r);
  else if (k == "download_payload_rate")
    st.down = number_at(r);
  else if (k == "upload_payload_rate")
    st.up = number_at(r);
  else if (k == "time_added")
    st.added = number_at(r);
  else if (k == "completed_time")
    st.completed = number_at(r);
}

services::DownloadItem item_of(std::string_view hash, const Status& s) {
  services::DownloadItem item;
  item.service = "deluge";
  item.native_id = std::string(hash);
  item.kind = "torrent";
  item.name = std::string(s.name);
  item.detail = std::string(s.state);
  item.state = common_state(item.detail, s.finished);
  item.progress = s.progress;
  item.total_bytes = static_cast<long long>(s.wanted);
  item.done_bytes = static_cast<long long>(s.done);
  item.download_rate = static_cast<long long>(s.down);
  item.upload_rate = static_cast<long long>(s.up);
  item.eta = services::eta_seconds(s.wanted, s.done, s.down);
  item.path = (std::filesystem::path(std::string(s.location)) / item.name).string();
  if (item.state == "failed") {
    item.error_code = "deluge";
    item.error_message = std::string(s.message);
  }
  item.created = time_of(s.added);
  if (s.finished) item.finished = time_of(s.completed);
  if (item.state == "paused" || item.state == "completed" || item.state == "failed")
    item.actions = {"resume", "cancel"};
  else
    item.actions = {"pause", "cancel"};
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

std::vector<services::DownloadItem> DelugeDownloads::items() {
  return guarded([&] { return list(); });
}

std::vector<services::DownloadItem> DelugeDownloads::list() {
  auto rpc = service_->rpc();
  // Read in place: a thousand torrents' status is not worth a tree.
  RawReply reply =
      rpc->call_raw("core.get_torrents_status", json::array({json::object(), item_keys()}));
  std::vector<services::DownloadItem> out;
  try {
    Status st;
    walk_torrent_statuses(
        reply.result(), [&](std::string_view key, RencodeReader& r) { read_field(st, key, r); },
        [&](std::string_view hash) {
          out.push_back(item_of(hash, st));
          st = Status();
        });
  } catch (const RencodeError& e) {
    throw ServiceError(ServiceError::Kind::bad_reply,
                       std::string("deluged's list cannot be read: ") + e.what());
  }
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
