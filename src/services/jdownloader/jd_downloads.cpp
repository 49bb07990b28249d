#include "services/jdownloader/jd_downloads.h"

#include <charconv>
#include <filesystem>

#include "core/log.h"
#include "services/events.h"
#include "services/jdownloader/api_client.h"
#include "services/jdownloader/jd_service.h"
#include "services/schema.h"
#include "services/service.h"

namespace moccha::jd {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

const json kLinkFields = {{"url", true},         {"host", true},      {"bytesTotal", true},
                          {"bytesLoaded", true}, {"enabled", true},   {"finished", true},
                          {"running", true},     {"speed", true},     {"eta", true},
                          {"status", true},      {"finalState", true}};
const json kPackageFields = {{"childCount", true},  {"saveTo", true},  {"bytesTotal", true},
                             {"bytesLoaded", true}, {"speed", true},   {"finished", true},
                             {"enabled", true},     {"running", true}, {"eta", true},
                             {"status", true}};

// JD's errors in the API's terms: its refusal is the caller's 400, an unreadable answer 502,
// none 503.
template <class F>
auto guarded(F f) {
  try {
    return f();
  } catch (const ApiError& e) {
    if (e.kind == ApiError::Kind::refused)
      throw ServiceError(ServiceError::Kind::invalid, std::string("JDownloader: ") + e.what());
    if (e.kind == ApiError::Kind::protocol)
      throw ServiceError(ServiceError::Kind::bad_reply, e.what());
    throw ServiceError(ServiceError::Kind::unavailable, e.what());
  }
}

long long parse_id(const std::string& id) {
  long long v = 0;
  auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (ec != std::errc() || p != id.data() + id.size() || v <= 0)
    throw ServiceError(ServiceError::Kind::not_found,
                       "unknown download '" + id + "': a JDownloader id is a decimal uuid");
  return v;
}

std::string id_text(const json& v) {
  return v.is_number_integer() ? std::to_string(v.get<long long>()) : std::string();
}

long long integer(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<long long>() : 0;
}

// A link's common state: JD's FinalLinkState first, then running/enabled.
std::string state_of(const json& l) {
  std::string final_state = l.value("finalState", "");
  if (l.value("finished", false) || final_state.rfind("FINISHED", 0) == 0) return "completed";
  if (!final_state.empty()) return "failed";
  if (l.value("running", false)) return "active";
  if (!l.value("enabled", true)) return "paused";
  return "queued";
}

json link_json(const json& l) {
  long long eta = integer(l, "eta");
  return {{"id", id_text(l["uuid"])},
          {"name", l.value("name", "")},
          {"url", l.value("url", "")},
          {"host", l.value("host", "")},
          {"status", l.value("status", "")},
          {"bytes_total", integer(l, "bytesTotal")},
          {"bytes_loaded", integer(l, "bytesLoaded")},
          {"speed", integer(l, "speed")},
          {"eta", eta >= 0 && l.value("running", false) ? json(eta) : json(nullptr)},
          {"finished", l.value("finished", false)},
          {"enabled", l.value("enabled", true)}};
}

}  // namespace

JdDownloads::JdDownloads(JdService* service, services::EventBus* events)
    : service_(service), events_(events), watcher_([this] { watch(); }) {}

JdDownloads::~JdDownloads() {
  stop_ = true;
  watcher_.join();
}

std::string JdDownloads::add_links(const json& b) {
  auto api = service_->api();  // not running: 503 before anything else
  if (!b.is_object()) throw ServiceError(ServiceError::Kind::invalid, "the body must be an object");
  std::string links;
  if (b.contains("links")) {
    if (!b["links"].is_array() || b["links"].empty() || b["links"].size() > 1000)
      throw ServiceError(ServiceError::Kind::invalid, "'links' must be a list of 1 to 1000 links");
    for (const auto& l : b["links"]) {
      if (!l.is_string() || l.get<std::string>().empty() ||
          l.get<std::string>().find_first_of(" \t\r\n") != std::string::npos)
        throw ServiceError(ServiceError::Kind::invalid, "'links' must hold links, one each");
      links += l.get<std::string>() + "\n";
    }
  } else if (b.contains("text") && b["text"].is_string() && !b["text"].get<std::string>().empty()) {
    links = b["text"].get<std::string>();  // JD finds the links in any text
  } else {
    throw ServiceError(ServiceError::Kind::invalid, "give 'links' (a list) or 'text'");
  }
  json q = {{"links", links}, {"autostart", b.value("autostart", true)}};
  if (b.contains("autostart") && !b["autostart"].is_boolean())
    throw ServiceError(ServiceError::Kind::invalid, "'autostart' must be true or false");
  std::string dest = service_->download_path();
  if (b.contains("destination")) {
    services::schema::path()("destination", b["destination"]);
    dest = b["destination"].get<std::string>();
  }
  q["destinationFolder"] = dest;
  for (auto [ours, theirs] : {std::pair{"package_name", "packageName"},
                              {"extract_password", "extractPassword"},
                              {"download_password", "downloadPassword"}}) {
    if (!b.contains(ours)) continue;
    services::schema::text(1024)(ours, b[ours]);
    q[theirs] = b[ours];
  }
  // What is in the list now is the watcher's baseline: whatever this adds is news.
  guarded([&] {
    std::lock_guard lock(mu_);
    if (!seeded_) poll_locked(*api);
    return 0;
  });
  json job = guarded([&] { return api->call("linkgrabberv2/addLinks", json::array({q})); });
  if (!job.is_object() || !job.contains("id"))
    throw ServiceError(ServiceError::Kind::bad_reply, "JDownloader's addLinks gave no job id");
  return id_text(job["id"]);
}

json JdDownloads::linkgrabber() {
  auto api = service_->api();
  return guarded([&] {
    bool collecting = api->call("linkgrabberv2/isCollecting") == true;
    json pkgs = api->call("linkgrabberv2/queryPackages", json::array({{{"childCount", true}}}));
    json links =
        api->call("linkgrabberv2/queryLinks",
                  json::array({{{"url", true}, {"bytesTotal", true}, {"availability", true}}}));
    json out = json::array();
    for (const auto& p : pkgs) {
      json ls = json::array();
      for (const auto& l : links)
        if (l.value("packageUUID", json()) == p["uuid"])
          ls.push_back({{"id", id_text(l["uuid"])},
                        {"name", l.value("name", "")},
                        {"url", l.value("url", "")},
                        {"size", integer(l, "bytesTotal")},
                        {"availability", l.value("availability", "")}});
      out.push_back({{"id", id_text(p["uuid"])}, {"name", p.value("name", "")}, {"links", ls}});
    }
    return json{{"success", true}, {"collecting", collecting}, {"packages", out}};
  });
}

void JdDownloads::confirm(const json& b) {
  auto api = service_->api();
  if (!b.is_object() || !b.contains("package_ids") || !b["package_ids"].is_array() ||
      b["package_ids"].empty())
    throw ServiceError(ServiceError::Kind::invalid, "'package_ids' must be a list of ids");
  json ids = json::array();
  for (const auto& id : b["package_ids"]) {
    if (!id.is_string()) throw ServiceError(ServiceError::Kind::invalid, "ids are strings");
    ids.push_back(parse_id(id.get<std::string>()));
  }
  guarded([&] {
    api->call("linkgrabberv2/moveToDownloadlist", json::array({json::array(), ids}));
    return 0;
  });
}

void JdDownloads::clear() {
  auto api = service_->api();
  guarded([&] { return api->call("linkgrabberv2/clearList"); });
}

json JdDownloads::downloads() {
  auto api = service_->api();
  return guarded([&] {
    json pkgs = api->call("downloadsV2/queryPackages", json::array({kPackageFields}));
    json links = api->call("downloadsV2/queryLinks", json::array({kLinkFields}));
    json out = json::array();
    for (const auto& p : pkgs) {
      json ls = json::array();
      for (const auto& l : links)
        if (l.value("packageUUID", json()) == p["uuid"]) ls.push_back(link_json(l));
      long long eta = integer(p, "eta");
      out.push_back({{"id", id_text(p["uuid"])},
                     {"name", p.value("name", "")},
                     {"status", p.value("status", "")},
                     {"bytes_total", integer(p, "bytesTotal")},
                     {"bytes_loaded", integer(p, "bytesLoaded")},
                     {"speed", integer(p, "speed")},
                     {"eta", eta >= 0 && p.value("running", false) ? json(eta) : json(nullptr)},
                     {"finished", p.value("finished", false)},
                     {"enabled", p.value("enabled", true)},
                     {"save_to", p.value("saveTo", "")},
                     {"links", ls}});
    }
    std::size_t n = out.size();
    return json{{"success", true}, {"packages", std::move(out)}, {"count", n}};
  });
}

void JdDownloads::control(const std::string& id, const std::string& action, bool remove_data) {
  auto api = service_->api();
  long long uuid = parse_id(id);
  guarded([&] {
    json pkgs = api->call("downloadsV2/queryPackages", json::array({{{"saveTo", true}}}));
    json links = api->call("downloadsV2/queryLinks", json::array({json::object()}));
    json link_ids = json::array(), pkg_ids = json::array();
    std::vector<json> affected;  // the links whose files go with remove_data
    for (const auto& p : pkgs)
      if (p.value("uuid", 0LL) == uuid) pkg_ids.push_back(uuid);
    for (const auto& l : links)
      if (l.value("uuid", 0LL) == uuid) link_ids.push_back(uuid);
    if (link_ids.empty() && pkg_ids.empty())
      throw ServiceError(ServiceError::Kind::not_found, "unknown download '" + id + "'");
    std::map<long long, std::string> save_to;
    for (const auto& p : pkgs) save_to[p.value("uuid", 0LL)] = p.value("saveTo", "");
    for (const auto& l : links)
      if (l.value("uuid", 0LL) == uuid || l.value("packageUUID", 0LL) == uuid)
        affected.push_back(l);
    json sel = json::array({link_ids, pkg_ids});
    if (action == "pause") {
      api->call("downloadsV2/setEnabled", json::array({false, link_ids, pkg_ids}));
    } else if (action == "resume") {
      api->call("downloadsV2/setEnabled", json::array({true, link_ids, pkg_ids}));
      // JD ends its download session when nothing is left to start: start it again.
      if (api->call("downloadcontroller/getCurrentState") != "RUNNING")
        api->call("downloadcontroller/start");
    } else if (action == "remove") {
      api->call("downloadsV2/removeLinks", sel);
      if (remove_data) {
        // The links' own files only, inside their package's folder.
        for (const auto& l : affected) {
          std::string name = l.value("name", "");
          std::string dir = save_to[l.value("packageUUID", 0LL)];
          if (name.empty() || dir.empty() || name.find('/') != std::string::npos || name == ".." ||
              name == ".")
            continue;
          std::error_code ec;
          fs::remove(fs::path(dir) / name, ec);
          fs::remove(fs::path(dir) / (name + ".part"), ec);
        }
      }
    } else {
      throw ServiceError(ServiceError::Kind::invalid, "unknown action '" + action + "'");
    }
    return 0;
  });
}

void JdDownloads::controller(const std::string& action, bool paused) {
  auto api = service_->api();
  guarded([&] {
    if (action == "pause") return api->call("downloadcontroller/pause", json::array({paused}));
    return api->call("downloadcontroller/" + action);
  });
}

json JdDownloads::stats() {
  auto api = service_->api();
  return guarded([&] {
    json pkgs = api->call("downloadsV2/queryPackages", json::array({json::object()}));
    json links = api->call("downloadsV2/queryLinks", json::array({json::object()}));
    return json{{"success", true},
                {"state", api->call("downloadcontroller/getCurrentState")},
                {"speed", api->call("downloadcontroller/getSpeedInBps")},
                {"packages", pkgs.size()},
                {"links", links.size()}};
  });
}

std::vector<services::DownloadItem> JdDownloads::items() {
  auto api = service_->api();  // throws unavailable when JD is not running
  json pkgs, links;
  guarded([&] {
    pkgs = api->call("downloadsV2/queryPackages", json::array({{{"saveTo", true}}}));
    links = api->call("downloadsV2/queryLinks", json::array({kLinkFields}));
    return 0;
  });
  std::map<long long, std::string> dirs;
  for (const auto& p : pkgs) dirs[p.value("uuid", 0LL)] = p.value("saveTo", "");
  std::vector<services::DownloadItem> out;
  for (const auto& l : links) {
    services::DownloadItem it;
    it.service = "jdownloader";
    it.native_id = id_text(l["uuid"]);
    it.kind = "hoster";
    it.name = l.value("name", "");
    it.detail = l.value("status", "");
    it.state = state_of(l);
    long long total = integer(l, "bytesTotal"), done = integer(l, "bytesLoaded");
    if (total > 0) it.total_bytes = total;
    it.done_bytes = done;
    it.progress = it.state == "completed" ? 100.0 : total > 0 ? 100.0 * done / total : 0.0;
    it.download_rate = integer(l, "speed");
    it.eta = services::eta_seconds(total, done, it.download_rate);
    it.path = (fs::path(dirs[l.value("packageUUID", 0LL)]) / it.name).string();
    if (it.state == "failed") {
      it.error_code = "jdownloader." + l.value("finalState", "FAILED");
      it.error_message = it.detail;
    }
    if (it.state == "paused")
      it.actions = {"resume", "cancel"};
    else if (!services::is_terminal_state(it.state))
      it.actions = {"pause", "cancel"};
    out.push_back(std::move(it));
  }
  return out;
}

std::string JdDownloads::add(const json& request) {
  json body = request;
  body["links"] = json::array({request.at("url")});
  body.erase("url");
  body.erase("service");
  if (body.contains("dir")) {
    body["destination"] = body["dir"];
    body.erase("dir");
  }
  return add_links(body);
}

void JdDownloads::act(const std::string& id, const std::string& action) {
  // Cancel stops it and keeps its data, as for the other engines.
  control(id, action == "cancel" ? "remove" : action, false);
}

void JdDownloads::watch() {
  while (!stop_) {
    for (int i = 0; i < 10 && !stop_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (stop_ || !events_) continue;
    std::shared_ptr<ApiClient> api;
    try {
      api = service_->api();
    } catch (const ServiceError&) {
      std::lock_guard lock(mu_);
      seeded_ = false;  // what happened while it was down is not news
      continue;
    }
    try {
      std::lock_guard lock(mu_);
      poll_locked(*api);
    } catch (const std::exception& e) {
      log::warn("jdownloader: watching the download list: {}", e.what());
    }
  }
}

void JdDownloads::poll_locked(ApiClient& api) {
  json pkgs = api.call("downloadsV2/queryPackages", json::array({{{"saveTo", true}}}));
  json links = api.call("downloadsV2/queryLinks", json::array({kLinkFields}));
  std::map<long long, std::string> dirs;
  for (const auto& p : pkgs) dirs[p.value("uuid", 0LL)] = p.value("saveTo", "");
  std::map<long long, std::string> now;
  for (const auto& l : links) {
    long long uuid = l.value("uuid", 0LL);
    std::string state = state_of(l);
    now[uuid] = state;
    if (!seeded_) continue;
    auto was = seen_.find(uuid);
    if (was != seen_.end() && was->second == state) continue;
    std::string name = l.value("name", "");
    json fields = {{"service", "jdownloader"},
                   {"id", "jdownloader:" + std::to_string(uuid)},
                   {"native_id", std::to_string(uuid)},
                   {"name", name},
                   {"state", state},
                   {"detail", l.value("status", "")}};
    if (was == seen_.end()) events_->publish("download.added", fields);
    if (state == "completed") {
      std::string dir = dirs[l.value("packageUUID", 0LL)];
      fields["size"] = integer(l, "bytesTotal");
      fields["dir"] = dir;
      fields["path"] = (fs::path(dir) / name).string();
      events_->publish("download.finished", fields);
    } else if (state == "failed") {
      events_->publish("download.failed", fields);
    } else if (was != seen_.end()) {
      events_->publish("download.state", fields);
    }
  }
  seen_ = std::move(now);
  seeded_ = true;
}

}  // namespace moccha::jd
