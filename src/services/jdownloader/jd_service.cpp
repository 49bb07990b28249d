#include "services/jdownloader/jd_service.h"

#include <curl/curl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/http_client.h"
#include "core/log.h"
#include "services/schema.h"
#include "store/files.h"

namespace moccha::jd {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

json read_json_file(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return json::object();
  json j = json::parse(in, nullptr, false);
  return j.is_object() ? j : json::object();
}

}  // namespace

JdService::JdService(std::string data_dir, services::EventBus* events)
    : DaemonService("jdownloader", "JDownloader.jar", events), data_dir_(std::move(data_dir)) {}

JdService::~JdService() {
  std::lock_guard lock(mu_);
  stop_locked();
}

json JdService::defaults() const {
  json d = services::schema::engine_defaults();
  d.update({{"host", "localhost"},
            {"port", 3128},
            {"jd_dir", data_dir_ + "/jdownloader"},
            {"java", "java"},
            {"download_path", data_dir_ + "/downloads/jdownloader"},
            {"max_download_speed", 0},
            {"max_simultaneous_downloads", 3},
            {"myjd_email", ""},
            {"myjd_password", ""},
            {"myjd_device_name", "moccha"},
            {"installer_url", "https://installer.jdownloader.org/JDownloader.jar"}});
  return d;
}

void JdService::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = sc::with_engine_rules({
      {"host", sc::host()},
      {"port", sc::port()},
      {"jd_dir", sc::path()},
      {"java", sc::text(4096)},
      {"download_path", sc::path()},
      {"max_download_speed", sc::speed()},
      {"max_simultaneous_downloads", sc::integer(1, 20)},
      {"myjd_email", sc::text(256)},
      {"myjd_password", sc::text(256)},
      {"myjd_device_name", sc::text(256)},
      {"installer_url", sc::url(true)},
  });
  sc::check(schema, c);
}

json JdService::cfg_files(const json& c) {
  double kib = c["max_download_speed"].get<double>();
  json remote = {// The local API on loopback, and no My.JDownloader login needed headless
                 // (MyJDownloaderController.isAlwaysConnectRequired).
                 {"deprecatedapienabled", true},
                 {"deprecatedapiport", c["port"]},
                 {"deprecatedapilocalhostonly", true},
                 {"headlessmyjdownloadermandatory", false},
                 // Click'n'Load reaches the user's own machine (moccha cnl-relay), not this one.
                 {"externinterfaceenabled", false}};
  json general = {{"defaultdownloadfolder", c["download_path"]},
                  {"downloadspeedlimitenabled", kib > 0},
                  {"downloadspeedlimit", static_cast<long long>(kib * 1024)},
                  {"maxsimultanedownloads", c["max_simultaneous_downloads"]}};
  json out = {{"org.jdownloader.api.RemoteAPIConfig.json", remote},
              {"org.jdownloader.settings.GeneralSettings.json", general}};
  if (!c["myjd_email"].get<std::string>().empty())
    out["org.jdownloader.api.myjdownloader.MyJDownloaderSettings.json"] = {
        {"email", c["myjd_email"]},
        {"password", c["myjd_password"]},
        {"devicename", c["myjd_device_name"]},
        {"autoconnectenabledv2", true}};
  return out;
}

void JdService::write_cfg(const json& c) {
  fs::path cfg = fs::path(c["jd_dir"].get<std::string>()) / "cfg";
  store::ensure_dir(cfg, 0700);
  json files = cfg_files(c);
  for (const auto& [file, keys] : files.items()) {
    json merged = read_json_file(cfg / file);  // what JD or the user keep there stays
    merged.update(keys);
    store::write_file_atomic(cfg / file, merged.dump(2) + "\n", 0600);
  }
}

void JdService::ensure_jar(const json& c) {
  fs::path jar = fs::path(c["jd_dir"].get<std::string>()) / "JDownloader.jar";
  if (fs::exists(jar)) return;
  std::string url = c["installer_url"].get<std::string>();
  std::string why = "auto_install is off";
  if (c["auto_install"].get<bool>() && !url.empty()) {
    // JD is packaged nowhere Moccha can install from: its own installer jar, fetched once.
    log::info("JDownloader.jar not found: fetching JD's installer from {}", url);
    fs::path part = jar.string() + ".part";
    std::FILE* f = std::fopen(part.c_str(), "wb");
    if (!f) throw ServiceError(ServiceError::Kind::failed, "cannot write " + part.string());
    HttpReply r = http_perform(
        url, {},
        [f](void* h) {
          curl_easy_setopt(
              h, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
                return std::fwrite(d, s, n, static_cast<std::FILE*>(out)) * s;
              });
          curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
          curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
          curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        },
        {.connect_timeout = std::chrono::seconds(10), .timeout = std::chrono::minutes(5)});
    bool written = std::fclose(f) == 0;
    std::error_code ec;
    if (r.reached() && written && fs::file_size(part, ec) > 0) {
      fs::rename(part, jar, ec);
      if (!ec) return;
    }
    fs::remove(part, ec);
    why = "fetching " + url + " failed: " + (r.reached() ? "cannot write it" : r.error);
  }
  throw ServiceError(ServiceError::Kind::unavailable,
                     "JDownloader.jar is not at " + jar.string() + " (" + why +
                         "). Put JD's JDownloader.jar there and start again");
}

std::shared_ptr<ApiClient> JdService::client_for(const json& c,
                                                 std::chrono::milliseconds timeout) const {
  std::string host = c["host"].get<std::string>();
  return std::make_shared<ApiClient>(services::is_local_host(host) ? "127.0.0.1" : host,
                                     c["port"].get<int>(), timeout);
}

json JdService::start_locked(const json& c) {
  config_ = c;
  int port = c["port"].get<int>();
  // A JD already answering (the user's own, or a remote one) is used as it is.
  auto probe = client_for(c, std::chrono::seconds(3));
  fs::path dir = c["jd_dir"].get<std::string>();
  if (services::is_local_host(c["host"].get<std::string>())) daemon_.stop_left_behind(dir);
  try {
    if (probe->call("device/ping") == true)
      return attach_locked(c, client_for(c, std::chrono::seconds(30)));
  } catch (const ApiError& e) {
    if (!services::is_local_host(c["host"].get<std::string>()))
      throw ServiceError(ServiceError::Kind::unavailable,
                         std::string("cannot reach the remote JDownloader: ") + e.what());
    if (e.kind != ApiError::Kind::unreachable)
      throw ServiceError(ServiceError::Kind::conflict,
                         "port " + std::to_string(port) +
                             " is taken by something that is not JDownloader's API (" + e.what() +
                             "): stop it, or set another 'port'");
  }
  external_ = false;
  try {
    store::ensure_dir(dir, 0700);
    store::ensure_dir(c["download_path"].get<std::string>(), 0755);
    ensure_jar(c);
    write_cfg(c);  // JD is not running: it will read these, not overwrite them
  } catch (const std::system_error& e) {
    throw ServiceError(ServiceError::Kind::failed, e.what());
  }
  services::DaemonSpec spec;
  spec.argv = {c["java"].get<std::string>(), "-Djava.awt.headless=true", "-jar",
               (dir / "JDownloader.jar").string(), "-norestart"};
  spec.dir = dir;
  spec.cwd = dir;
  spec.auto_restart = c["auto_restart"].get<bool>();
  spec.ready_timeout = std::chrono::seconds(120);  // a first start unpacks itself
  spec.follow_pidfile = dir / "JDownloader.pid";   // ... and restarts into a new process
  auto api = client_for(c, std::chrono::seconds(30));
  auto ping = client_for(c, std::chrono::seconds(2));
  spec.ready = [&ping](std::string& why) {
    try {
      return ping->call("device/ping") == true;
    } catch (const ApiError& e) {
      why = e.what();
      return false;
    }
  };
  daemon_.start(spec);
  api_ = std::move(api);
  intended_ = true;
  log::info("JDownloader is up (pid {}), API port {}", daemon_.pid(), port);
  return {{"pid", daemon_.pid()}, {"host", c["host"]}, {"port", port}, {"managed", true}};
}

json JdService::attach_locked(const json& c, std::shared_ptr<ApiClient> api) {
  log::warn("a JDownloader already answers on {}:{}: using it as it is (not managed)",
            c["host"].get<std::string>(), c["port"].get<int>());
  external_ = true;
  intended_ = true;
  api_ = std::move(api);
  return {{"pid", nullptr}, {"host", c["host"]}, {"port", c["port"]}, {"managed", false}};
}

void JdService::stop() {
  std::lock_guard lock(mu_);
  stop_locked();
}

void JdService::stop_locked() {
  intended_ = false;
  daemon_.cancel_restart();
  auto api = std::move(api_);
  if (external_) {
    external_ = false;  // not ours: detach, never exitJD
    return;
  }
  daemon_.stop(
      [&api] {
        if (api) api->call("system/exitJD");
      },
      std::chrono::seconds(20));  // JD saves its lists and cfg on exit
}

bool JdService::running() {
  std::lock_guard lock(mu_);
  return external_ ? api_ != nullptr : daemon_.alive();
}

std::shared_ptr<ApiClient> JdService::api() {
  std::lock_guard lock(mu_);
  if (api_ && (external_ || daemon_.alive())) return api_;
  throw ServiceError(ServiceError::Kind::unavailable,
                     "JDownloader is not running: " + daemon_.unavailable_reason());
}

std::string JdService::download_path() {
  std::lock_guard lock(mu_);
  return (config_.is_object() ? config_ : defaults())["download_path"].get<std::string>();
}

json JdService::status() {
  json st;
  std::shared_ptr<ApiClient> api;
  {
    std::lock_guard lock(mu_);
    json c = config_.is_object() ? config_ : defaults();
    bool up = external_ ? api_ != nullptr : daemon_.alive();
    st = {{"running", up},
          {"connected", false},
          {"host", c["host"]},
          {"port", c["port"]},
          {"download_path", c["download_path"]},
          {"managed", up && !external_}};
    st.update(daemon_.status());
    if (up) api = api_;
  }
  if (api) {
    try {
      st["version"] = api->call("jd/version");
      st["connected"] = true;
    } catch (const ApiError& e) {
      st["api_error"] = e.what();
    }
  }
  return st;
}

std::vector<std::string> JdService::apply(const json& before, const json& after) {
  std::lock_guard lock(mu_);
  std::vector<std::string> restart;
  for (const char* k :
       {"host", "port", "jd_dir", "java", "myjd_email", "myjd_password", "myjd_device_name"})
    if (before[k] != after[k]) restart.push_back(k);
  if (api_) {
    // Live where JD's advanced config allows it (AdvancedConfigManagerAPI config/set).
    auto set = [this](const char* key, const json& value) {
      try {
        api_->call("config/set",
                   json::array({"org.jdownloader.settings.GeneralSettings", nullptr, key, value}));
      } catch (const ApiError& e) {
        throw ServiceError(ServiceError::Kind::failed,
                           std::string("saved, but JDownloader refused it: ") + e.what());
      }
    };
    json now = cfg_files(after)["org.jdownloader.settings.GeneralSettings.json"];
    json was = cfg_files(before)["org.jdownloader.settings.GeneralSettings.json"];
    static const std::map<std::string, const char*> kKeys = {
        {"defaultdownloadfolder", "DefaultDownloadFolder"},
        {"downloadspeedlimitenabled", "DownloadSpeedLimitEnabled"},
        {"downloadspeedlimit", "DownloadSpeedLimit"},
        {"maxsimultanedownloads", "MaxSimultaneDownloads"}};
    for (const auto& [k, v] : now.items())
      if (was[k] != v) set(kKeys.at(k), v);
  }
  config_ = after;
  daemon_.set_auto_restart(after["auto_restart"].get<bool>());
  return restart;
}

}  // namespace moccha::jd
