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
#include "services/events.h"
#include "services/schema.h"
#include "services/service.h"
#include "store/database.h"

namespace moccha::aria2 {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

const json& status_keys() {
  static const json keys = {"gid",           "status",      "totalLength", "completedLength",
                            "downloadSpeed", "uploadSpeed", "connections", "errorCode",
                            "errorMessage",  "dir",         "files",       "seeder"};
  return keys;
}

long long num(const json& s, const char* key) {
  auto it = s.find(key);
  if (it == s.end()) return 0;
  if (it->is_number()) return it->get<long long>();
  if (!it->is_string()) return 0;
  try {
    return std::stoll(it->get<std::string>());
  } catch (const std::exception&) {
    return 0;
  }
}

ServiceError invalid(const std::string& message) {
  return ServiceError(ServiceError::Kind::invalid, message);
}

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

bool clean_text(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void check_url(const std::string& url, const char* field) {
  static const std::set<std::string> schemes = {"http", "https", "ftp", "sftp"};
  auto colon = url.find("://");
  std::string scheme = colon == std::string::npos ? "" : ascii_lower(url.substr(0, colon));
  if (!schemes.count(scheme))
    throw invalid(std::string("'") + field + "': '" + escape_control(url.substr(0, 200)) +
                  "' is not an http, https, ftp or sftp link");
  if (url.size() > 8192 || !clean_text(url) || url.find(' ') != std::string::npos ||
      colon + 3 >= url.size())
    throw invalid(std::string("'") + field + "' is not a valid link");
}

// The aria2 options of an add request, each field checked.
json add_options(const json& r, std::vector<std::string>& uris) {
  if (!r.is_object()) throw invalid("the body must be a JSON object");
  if (r.contains("url") == r.contains("urls"))
    throw invalid("give 'url' (a link) or 'urls' (mirrors of one file)");
  if (r.contains("url")) {
    if (!r["url"].is_string()) throw invalid("'url' must be a string");
    uris.push_back(r["url"].get<std::string>());
    check_url(uris.back(), "url");
  } else {
    if (!r["urls"].is_array() || r["urls"].empty() || r["urls"].size() > 16)
      throw invalid("'urls' must be a list of 1 to 16 links");
    for (const auto& u : r["urls"]) {
      if (!u.is_string()) throw invalid("'urls' must hold strings");
      uris.push_back(u.get<std::string>());
      check_url(uris.back(), "urls");
    }
  }
  json o = json::object();
  if (r.contains("dir")) services::schema::path()("dir", r["dir"]), o["dir"] = r["dir"];
  if (r.contains("out")) {
    if (!r["out"].is_string()) throw invalid("'out' must be a file name");
    std::string out = r["out"].get<std::string>();
    if (out.empty() || out.size() > 255 || out == "." || out == ".." ||
        out.find('/') != std::string::npos || !clean_text(out))
      throw invalid("'out' must be a file name: no slash, at most 255 bytes");
    o["out"] = out;
  }
  if (r.contains("headers")) {
    if (!r["headers"].is_array() || r["headers"].size() > 64)
      throw invalid("'headers' must be a list of \"Name: value\" strings");
    static const std::regex header("^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\\r\\n]*$");
    json hs = json::array();
    for (const auto& h : r["headers"]) {
      if (!h.is_string() || h.get<std::string>().size() > 8192 || !clean_text(h) ||
          !std::regex_match(h.get<std::string>(), header))
        throw invalid("'headers': each must be \"Name: value\", one line");
      hs.push_back(h);
    }
    o["header"] = hs;
  }
  if (r.contains("checksum")) {
    static const std::regex sum("^(sha-1|sha-224|sha-256|sha-384|sha-512|md5)=([0-9a-fA-F]+)$");
    static const std::map<std::string, std::size_t> digits = {{"sha-1", 40},    {"sha-224", 56},
                                                              {"sha-256", 64},  {"sha-384", 96},
                                                              {"sha-512", 128}, {"md5", 32}};
    std::smatch m;
    std::string c = r["checksum"].is_string() ? r["checksum"].get<std::string>() : "";
    if (!std::regex_match(c, m, sum) || m[2].length() != static_cast<long>(digits.at(m[1])))
      throw invalid("'checksum' must be TYPE=HEX: sha-256=..., sha-1=... or md5=...");
    o["checksum"] = m[1].str() + "=" + ascii_lower(m[2].str());
  }
  if (r.contains("connections")) {
    services::schema::integer(1, 16)("connections", r["connections"]);
    std::string n = std::to_string(r["connections"].get<int>());
    o["max-connection-per-server"] = n;
    o["split"] = n;
  }
  if (r.contains("paused")) {
    if (!r["paused"].is_boolean()) throw invalid("'paused' must be true or false");
    if (r["paused"].get<bool>()) o["pause"] = "true";
  }
  return o;
}

std::string base_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return name;
}

}  // namespace

std::string common_state(const std::string& s, bool seeder) {
  if (s == "active") return seeder ? "seeding" : "active";
  if (s == "waiting") return "queued";
  if (s == "paused") return "paused";
  if (s == "complete") return "completed";
  if (s == "error") return "failed";
  if (s == "removed") return "canceled";
  return "queued";
}

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

std::map<std::string, json> Aria2Downloads::all(RpcClient& rpc) {
  auto r = rpc.batch({{"aria2.tellActive", json::array({status_keys()})},
                      {"aria2.tellWaiting", json::array({0, 1000, status_keys()})},
                      {"aria2.tellStopped", json::array({0, 1000, status_keys()})}});
  std::map<std::string, json> out;
  for (const auto& list : r) {
    if (!list.is_array()) throw RpcError(RpcError::Kind::protocol, "aria2's list is not a list");
    for (const auto& s : list)
      if (s.is_object() && s.contains("gid")) out[s["gid"].get<std::string>()] = s;
  }
  add_recorded(out);
  return out;
}

void Aria2Downloads::add_recorded(std::map<std::string, json>& out) {
  std::lock_guard lock(mu_);
  for (const auto& [gid, rec] : records_) {
    if (out.count(gid)) continue;
    // aria2 forgot it (a restart): what we recorded of its end, or, if it never ended, lost.
    json s = rec.value("status", json::object());
    if (!s.is_object()) s = json::object();
    s["gid"] = gid;
    std::string st = s.value("status", "");
    if (st != "complete" && st != "error" && st != "removed") {
      s["status"] = "error";
      s["errorCode"] = "1";
      s["errorMessage"] = "lost: aria2 restarted before it saved this download";
    }
    s["downloadSpeed"] = "0";
    s["uploadSpeed"] = "0";
    s["connections"] = "0";
    out[gid] = s;
  }
}

json Aria2Downloads::status_of(RpcClient& rpc, const std::string& gid) {
  try {
    return rpc.call("aria2.tellStatus", json::array({gid, status_keys()}));
  } catch (const RpcError& e) {
    if (e.kind != RpcError::Kind::refused) throw;
    auto known = all(rpc);  // only our records know it (after a restart)
    auto it = known.find(gid);
    if (it == known.end())
      throw ServiceError(ServiceError::Kind::not_found, "unknown download '" + gid + "'");
    return it->second;
  }
}

// aria2's exit and error codes (aria2c.rst, EXIT STATUS), for errors it reports without a
// message (a checksum failure has none).
std::string code_text(long long code) {
  static const char* const kText[] = {
      "",
      "an unknown error occurred",
      "timed out",
      "the resource was not found",
      "too many 'resource not found' errors",
      "the download was too slow",
      "a network problem occurred",
      "there were unfinished downloads",
      "the server does not support resuming",
      "there was not enough disk space",
      "the piece length differs from the control file",
      "the same file was being downloaded",
      "the same info hash was being downloaded",
      "the file already exists",
      "renaming the file failed",
      "the existing file could not be opened",
      "the file could not be created or truncated",
      "a file I/O error occurred",
      "the directory could not be created",
      "name resolution failed",
      "the Metalink document could not be parsed",
      "an FTP command failed",
      "the HTTP response header was bad or unexpected",
      "there were too many redirects",
      "HTTP authorization failed",
      "the bencoded file could not be parsed",
      "the .torrent file is corrupted or misses information",
      "the magnet URI is bad",
      "a bad or unrecognized option was given",
      "the server could not handle the request (overloaded or in maintenance)",
      "the JSON-RPC request could not be parsed",
      "reserved",
      "the checksum did not match",
  };
  if (code > 0 && code < static_cast<long long>(std::size(kText))) return kText[code];
  return "aria2 error " + std::to_string(code);
}

json Aria2Downloads::item(const std::string& gid, const json& s) {
  json rec = record(gid);
  const json& files = s.value("files", json::array());
  std::string path = files.is_array() && !files.empty() ? files[0].value("path", "") : "";
  std::string url = rec.value("url", "");
  if (url.empty() && !files.empty() && files[0].contains("uris") && !files[0]["uris"].empty())
    url = files[0]["uris"][0].value("uri", "");
  std::string dir = s.value("dir", rec.value("dir", ""));
  std::string name =
      !path.empty() ? fs::path(path).filename().string() : rec.value("out", base_name(url));
  if (path.empty() && !name.empty()) path = (fs::path(dir) / name).string();
  long long total = num(s, "totalLength"), done = num(s, "completedLength");
  long long rate = num(s, "downloadSpeed");
  std::string status = s.value("status", "");
  json error = nullptr;
  if (status == "error") {
    std::string message = s.value("errorMessage", "");
    error = {{"code", num(s, "errorCode")},
             {"message", message.empty() ? code_text(num(s, "errorCode")) : message}};
  }
  double progress = status == "complete" ? 100.0
                    : total > 0          ? 100.0 * static_cast<double>(done) / total
                                         : 0.0;
  return {{"id", gid},
          {"name", name},
          {"url", url},
          {"state", status},
          {"progress", std::round(progress * 100) / 100},
          {"total_length", total},
          {"completed_length", done},
          {"download_rate", rate},
          {"upload_rate", num(s, "uploadSpeed")},
          {"connections", num(s, "connections")},
          {"eta", services::eta_seconds(total, done, rate)},
          {"path", path.empty() ? json(nullptr) : json(path)},
          {"error", error},
          {"created", rec.value("created", json(nullptr))},
          {"finished", rec.value("finished", json(nullptr))},
          {"seeder", s.value("seeder", "false") == "true"}};
}

json Aria2Downloads::list(const std::string& states) {
  static const std::set<std::string> known = {"active",   "waiting", "paused",
                                              "complete", "error",   "removed"};
  std::set<std::string> want;
  for (std::string_view rest = states; !rest.empty();) {
    auto comma = rest.find(',');
    std::string word(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!known.count(word))
      throw invalid("unknown state '" + word +
                    "': one of active, waiting, paused, complete, error, removed");
    want.insert(word);
  }
  auto rpc = service_->rpc();
  json out = json::array();
  for (const auto& [gid, s] : guarded([&] { return all(*rpc); })) {
    if (!want.empty() && !want.count(s.value("status", ""))) continue;
    json it = item(gid, s);
    it.erase("seeder");
    it.erase("created");
    it.erase("finished");
    out.push_back(std::move(it));
  }
  std::size_t n = out.size();
  return {{"success", true}, {"downloads", std::move(out)}, {"count", n}};
}

json Aria2Downloads::details(const std::string& gid) {
  auto rpc = service_->rpc();
  check_gid(gid);
  json s = guarded([&] { return status_of(*rpc, gid); });
  json d = item(gid, s);
  d.erase("seeder");
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

std::vector<json> Aria2Downloads::items() {
  std::map<std::string, json> known;
  bool up = true;
  try {
    auto rpc = service_->rpc();
    known = guarded([&] { return all(*rpc); });
  } catch (const ServiceError& e) {
    if (e.kind != ServiceError::Kind::unavailable) throw;
    // Stopped: what our records say, with nothing to be done to them now.
    up = false;
    add_recorded(known);
  }
  std::vector<json> out;
  for (const auto& [gid, s] : known) {
    json a = item(gid, s);
    json it = services::download_item("aria2", gid, "direct");
    std::string status = a["state"];
    std::string state = common_state(status, a["seeder"].get<bool>());
    it["name"] = a["name"];
    it["state"] = state;
    it["detail"] = status;
    it["progress"] = a["progress"];
    it["total_bytes"] = a["total_length"].get<long long>() > 0 ? a["total_length"] : json(nullptr);
    it["done_bytes"] = a["completed_length"];
    it["download_rate"] = a["download_rate"];
    it["upload_rate"] = a["upload_rate"];
    it["eta"] = a["eta"];
    it["path"] = a["path"];
    if (!a["error"].is_null())
      it["error"] = {{"code", "aria2." + std::to_string(a["error"]["code"].get<long long>())},
                     {"message", a["error"]["message"]}};
    it["created"] = a["created"];
    it["finished"] = a["finished"];
    if (up && state == "paused")
      it["actions"] = {"resume", "cancel"};
    else if (up && !services::is_terminal_state(state))
      it["actions"] = {"pause", "cancel"};
    out.push_back(std::move(it));
  }
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
  if (action != "cancel") throw invalid("unknown action '" + action + "'");
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
  json kept = s;
  kept.erase("downloadSpeed");
  kept.erase("uploadSpeed");
  rec["status"] = kept;
  rec["ended"] = st;
  if (st == "complete" || st == "error") rec["finished"] = iso8601_utc_now();
  if (!rec.contains("created")) rec["created"] = iso8601_utc_now();
  save(gid, rec);
  if (!events_) return;
  json it = item(gid, s);
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
                                        {"name", item(gid, s)["name"]},
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
