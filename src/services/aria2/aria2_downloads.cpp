#include "services/aria2/aria2_downloads.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "core/log.h"
#include "core/text.h"
#include "core/time_util.h"
#include "services/aria2/aria2_service.h"
#include "services/aria2/rpc_client.h"
#include "services/aria2/shapes.h"
#include "services/events.h"
#include "services/service.h"
#include "store/database.h"

namespace moccha::aria2 {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

// aria2's errors in the API's terms: its refusal is the caller's 400 (an unknown gid a 404),
// a reply we cannot read a 502, no answer a 503.
template <class F>
auto guarded(F f) {
  try {
    return f();
  } catch (const RpcError& e) {
    std::string m = e.what();
    if (e.kind == RpcError::Kind::refused)
      throw ServiceError(m.find("is not found") != std::string::npos ? ServiceError::Kind::not_found
                                                                     : ServiceError::Kind::invalid,
                         "aria2: " + m);
    if (e.kind == RpcError::Kind::protocol) throw ServiceError(ServiceError::Kind::bad_reply, m);
    throw ServiceError(ServiceError::Kind::unavailable, m);
  }
}

void check_gid(const std::string& gid) {
  static const std::regex hex16("^[0-9a-f]{16}$");
  if (!std::regex_match(gid, hex16))
    throw ServiceError(ServiceError::Kind::not_found,
                       "unknown download '" + gid + "': an aria2 id is 16 hex digits");
}

}  // namespace

Aria2Downloads::Aria2Downloads(Aria2Service* service, store::Database* db,
                               services::EventBus* events)
    : service_(service), db_(db), events_(events) {
  if (db_) records_ = db_->downloads("aria2");
  service_->on_notification([this](const std::string& m, const std::string& gid,
                                   RpcClient& rpc) { on_event(m, gid, rpc); },
                            [this](RpcClient& rpc) { catch_up(rpc); });
}

Aria2Downloads::~Aria2Downloads() {
  service_->on_notification(nullptr, nullptr);
}

bool Aria2Downloads::takes(const std::string& url) const {
  auto colon = url.find("://");
  if (colon == std::string::npos) return false;
  std::string scheme = ascii_lower(url.substr(0, colon));
  return scheme == "http" || scheme == "https" || scheme == "ftp" || scheme == "sftp";
}

json Aria2Downloads::record(const std::string& gid) {
  std::lock_guard lock(mu_);
  auto it = records_.find(gid);
  return it == records_.end() ? json::object() : it->second;
}

void Aria2Downloads::save(const std::string& gid, const json& rec) {
  {
    std::lock_guard lock(mu_);
    if (forgotten_.count(gid)) return;
    records_[gid] = rec;
  }
  try {
    if (db_) db_->save_download("aria2", gid, rec);
  } catch (const std::exception& e) {
    log::error("aria2: cannot record download {}: {}", gid, e.what());
  }
}

Aria2Downloads::Known Aria2Downloads::all(RpcClient& rpc) {
  std::string reply =
      rpc.batch_body({{"aria2.tellActive", json::array({status_keys()})},
                      {"aria2.tellWaiting", json::array({0, 1000, status_keys()})},
                      {"aria2.tellStopped", json::array({0, 1000, status_keys()})}});
  Known out;
  std::set<std::string> seen;
  for (auto& st : read_lists(reply))
    if (!st.gid.empty() && seen.insert(st.gid).second) out.push_back(std::move(st));
  add_recorded(out, seen);
  return out;
}

void Aria2Downloads::add_recorded(Known& out, const std::set<std::string>& seen) {
  std::lock_guard lock(mu_);
  for (const auto& [gid, rec] : records_) {
    if (seen.count(gid)) continue;
    // aria2 forgot it (a restart): what we recorded of its end, or, if it never ended, lost.
    Status s = status_from(rec.value("status", json::object()));
    s.gid = gid;
    if (s.status != "complete" && s.status != "error" && s.status != "removed") {
      s.status = "error";
      s.error_code = 1;
      s.error_message = "lost: aria2 restarted before it saved this download";
    }
    s.down = s.up = s.connections = 0;
    out.push_back(std::move(s));
  }
}

json Aria2Downloads::status_of(RpcClient& rpc, const std::string& gid) {
  try {
    return rpc.call("aria2.tellStatus", json::array({gid, status_keys()}));
  } catch (const RpcError& e) {
    if (e.kind != RpcError::Kind::refused) throw;
    // Only our records may know it (aria2 restarted since).
    Known recorded;
    add_recorded(recorded, {});
    for (const auto& st : recorded)
      if (st.gid == gid) return status_json(st);
    throw ServiceError(ServiceError::Kind::not_found, "unknown download '" + gid + "'");
  }
}

template <class F>
void Aria2Downloads::shape(const Known& known, F&& each) {
  static const json kNone = json::object();
  std::lock_guard lock(mu_);  // the records are read in place, not copied
  for (const auto& s : known) {
    auto rec = records_.find(s.gid);
    each(s, rec == records_.end() ? kNone : rec->second);
  }
}

json Aria2Downloads::list(const std::string& states) {
  static const std::set<std::string> states_known = {"active",   "waiting", "paused",
                                                     "complete", "error",   "removed"};
  std::set<std::string> want;
  for (std::string_view rest = states; !rest.empty();) {
    auto comma = rest.find(',');
    std::string word(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!states_known.count(word))
      throw ServiceError(
          ServiceError::Kind::invalid,
          "unknown state '" + word + "': one of active, waiting, paused, complete, error, removed");
    want.insert(word);
  }
  auto rpc = service_->rpc();
  Known known = guarded([&] { return all(*rpc); });
  json out = json::array();
  shape(known, [&](const Status& s, const json& rec) {
    if (!want.empty() && !want.count(s.status)) return;
    json it = download_json(s, rec);
    it.erase("created");
    it.erase("finished");
    out.push_back(std::move(it));
  });
  std::size_t n = out.size();
  return {{"success", true}, {"downloads", std::move(out)}, {"count", n}};
}

json Aria2Downloads::details(const std::string& gid) {
  auto rpc = service_->rpc();
  check_gid(gid);
  json s = guarded([&] { return status_of(*rpc, gid); });
  json d = download_json(status_from(s), record(gid));
  json files = json::array(), uris = json::array();
  for (const auto& f : s.value("files", json::array())) {
    files.push_back({{"path", f.value("path", "")},
                     {"length", num(f, "length")},
                     {"completed_length", num(f, "completedLength")},
                     {"selected", f.value("selected", "true") == "true"}});
    // aria2 lists a link once per connection it opened on it (and again after a pause): each
    // link once here, "used" if any use was.
    for (const auto& u : f.value("uris", json::array())) {
      std::string uri = u.value("uri", ""), st = u.value("status", "");
      auto same =
          std::find_if(uris.begin(), uris.end(), [&](const json& x) { return x["uri"] == uri; });
      if (same == uris.end())
        uris.push_back({{"uri", uri}, {"status", st}});
      else if (st == "used")
        (*same)["status"] = "used";
    }
  }
  d["files"] = files;
  d["uris"] = uris;
  return d;
}

std::vector<services::DownloadItem> Aria2Downloads::items() {
  Known known;
  bool up = true;
  try {
    auto rpc = service_->rpc();
    known = guarded([&] { return all(*rpc); });
  } catch (const ServiceError& e) {
    if (e.kind != ServiceError::Kind::unavailable) throw;
    // Stopped: what our records say, with nothing to be done to them now.
    up = false;
    add_recorded(known, {});
  }
  std::vector<services::DownloadItem> out;
  out.reserve(known.size());
  shape(known, [&](const Status& s, const json& rec) { out.push_back(queue_item(s, rec, up)); });
  return out;
}

std::string Aria2Downloads::add(const json& request) {
  std::vector<std::string> uris;
  json options = add_options(request, uris);
  auto rpc = service_->rpc();
  std::string gid = guarded([&] {
    json r = rpc->call("aria2.addUri", json::array({uris, options}));
    if (!r.is_string()) throw RpcError(RpcError::Kind::protocol, "addUri gave no gid");
    return r.get<std::string>();
  });
  json rec = {{"url", uris[0]},
              {"created", iso8601_utc_now()},
              {"dir", options.value("dir", service_->download_path())},
              {"status", {{"status", options.contains("pause") ? "paused" : "waiting"}}}};
  if (options.contains("out")) rec["out"] = options["out"];
  save(gid, rec);
  if (events_)
    events_->publish("download.added",
                     {{"service", "aria2"},
                      {"id", "aria2:" + gid},
                      {"native_id", gid},
                      {"name", rec.value("out", base_name(uris[0]))},
                      {"url", uris[0]},
                      {"state", options.contains("pause") ? "paused" : "queued"}});
  return gid;
}

void Aria2Downloads::pause(const std::string& gid) {
  auto rpc = service_->rpc();
  check_gid(gid);
  guarded([&] {
    std::string st = status_of(*rpc, gid).value("status", "");
    if (st == "paused") return;  // already: pausing twice is not an error
    if (st != "active" && st != "waiting")
      throw ServiceError(ServiceError::Kind::invalid,
                         "the download is " + st + ": nothing to pause");
    rpc->call("aria2.forcePause", json::array({gid}));
  });
}

void Aria2Downloads::resume(const std::string& gid) {
  auto rpc = service_->rpc();
  check_gid(gid);
  guarded([&] {
    std::string st = status_of(*rpc, gid).value("status", "");
    if (st == "active" || st == "waiting") return;
    if (st != "paused")
      throw ServiceError(ServiceError::Kind::invalid,
                         "the download is " + st + ": nothing to resume");
    rpc->call("aria2.unpause", json::array({gid}));
  });
}

void Aria2Downloads::remove(const std::string& gid, bool remove_data) {
  auto rpc = service_->rpc();
  check_gid(gid);
  json s = guarded([&] { return status_of(*rpc, gid); });
  guarded([&] {
    std::string st = s.value("status", "");
    if (st == "active" || st == "waiting" || st == "paused") {
      rpc->call("aria2.forceRemove", json::array({gid}));
      // Until aria2 has closed its files: bounded.
      for (int i = 0; i < 50; ++i) {
        json now = rpc->call("aria2.tellStatus", json::array({gid, json::array({"status"})}));
        if (now.value("status", "") == "removed") break;
        ::usleep(100000);
      }
    }
    try {
      rpc->call("aria2.removeDownloadResult", json::array({gid}));
    } catch (const RpcError&) {
      // Already forgotten (a restart): our record is all there is.
    }
  });
  if (remove_data) {
    // Only files inside the download's own directory: a path aria2 reports elsewhere stays.
    fs::path dir = fs::path(s.value("dir", record(gid).value("dir", ""))).lexically_normal();
    for (const auto& f : s.value("files", json::array())) {
      fs::path p = fs::path(f.value("path", "")).lexically_normal();
      auto rel = p.lexically_relative(dir);
      if (p.empty() || dir.empty() || rel.empty() || *rel.begin() == "..") continue;
      std::error_code ec;
      fs::remove(p, ec);
      fs::remove(p.string() + ".aria2", ec);
    }
  }
  {
    std::lock_guard lock(mu_);
    records_.erase(gid);
    forgotten_.insert(gid);
  }
  if (db_) db_->delete_download("aria2", gid);
  if (events_)
    events_->publish("download.state", {{"service", "aria2"},
                                        {"id", "aria2:" + gid},
                                        {"native_id", gid},
                                        {"state", "canceled"},
                                        {"detail", "removed"}});
}

void Aria2Downloads::act(const std::string& gid, const std::string& action) {
  if (action == "pause") return pause(gid);
  if (action == "resume") return resume(gid);
  if (action != "cancel")
    throw ServiceError(ServiceError::Kind::invalid, "unknown action '" + action + "'");
  // Cancel stops it and keeps it listed as canceled, data kept: remove forgets it.
  auto rpc = service_->rpc();
  check_gid(gid);
  guarded([&] {
    std::string st = status_of(*rpc, gid).value("status", "");
    if (st == "active" || st == "waiting" || st == "paused")
      rpc->call("aria2.forceRemove", json::array({gid}));
  });
}

json Aria2Downloads::stats() {
  auto rpc = service_->rpc();
  json g = guarded([&] { return rpc->call("aria2.getGlobalStat"); });
  return {{"success", true},
          {"download_rate", num(g, "downloadSpeed")},
          {"upload_rate", num(g, "uploadSpeed")},
          {"num_active", num(g, "numActive")},
          {"num_waiting", num(g, "numWaiting")},
          {"num_stopped", num(g, "numStopped")}};
}

void Aria2Downloads::record_end(const std::string& gid, const json& s) {
  {
    std::lock_guard lock(mu_);
    if (forgotten_.count(gid)) return;
  }
  json rec = record(gid);
  std::string st = s.value("status", "");
  if (rec.value("ended", "") == st) return;  // a notification and the catch-up both saw it
  Status kept = status_from(s);
  kept.down = kept.up = kept.connections = 0;
  rec["status"] = status_json(kept);
  rec["ended"] = st;
  if (st == "complete" || st == "error") rec["finished"] = iso8601_utc_now();
  if (!rec.contains("created")) rec["created"] = iso8601_utc_now();
  save(gid, rec);
  if (!events_) return;
  json it = download_json(kept, rec);
  json fields = {
      {"service", "aria2"},         {"id", "aria2:" + gid},      {"native_id", gid},
      {"name", it["name"]},         {"path", it["path"]},        {"dir", s.value("dir", "")},
      {"size", it["total_length"]}, {"state", common_state(st)}, {"detail", st}};
  if (st == "complete") {
    events_->publish("download.finished", fields);
  } else if (st == "error") {
    fields["error"] = it["error"];
    events_->publish("download.failed", fields);
  } else {
    events_->publish("download.state", fields);
  }
}

void Aria2Downloads::on_event(const std::string& method, const std::string& gid, RpcClient& rpc) {
  {
    std::lock_guard lock(mu_);
    if (forgotten_.count(gid)) return;
  }
  json s = rpc.call("aria2.tellStatus", json::array({gid, status_keys()}));
  std::string st = s.value("status", "");
  if (method == "aria2.onDownloadComplete" || method == "aria2.onDownloadError" ||
      method == "aria2.onDownloadStop" || method == "aria2.onBtDownloadComplete") {
    record_end(gid, s);
    return;
  }
  // Started or paused: a state change, kept so a restart lists it right.
  json rec = record(gid);
  if (rec.is_object() && !rec.empty()) {
    rec["status"] = {{"status", st}};
    save(gid, rec);
  }
  if (events_)
    events_->publish("download.state", {{"service", "aria2"},
                                        {"id", "aria2:" + gid},
                                        {"native_id", gid},
                                        {"name", download_json(status_from(s), rec)["name"]},
                                        {"state", common_state(st)},
                                        {"detail", st}});
}

void Aria2Downloads::catch_up(RpcClient& rpc) {
  try {
    json stopped = rpc.call("aria2.tellStopped", json::array({0, 1000, status_keys()}));
    for (const auto& s : stopped)
      if (s.is_object() && s.contains("gid")) record_end(s["gid"].get<std::string>(), s);
  } catch (const std::exception& e) {
    log::warn("aria2: catching up on finished downloads: {}", e.what());
  }
}

}  // namespace moccha::aria2
