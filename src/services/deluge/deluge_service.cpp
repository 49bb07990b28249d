#include "services/deluge/deluge_service.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/hex.h"
#include "core/log.h"
#include "core/time_util.h"
#include "services/deluge/deluge_downloads.h"
#include "services/deluge/torrent_file.h"
#include "services/events.h"
#include "services/schema.h"
#include "store/files.h"
#include "system/process.h"

namespace moccha::deluge {

using json = nlohmann::json;
using services::ServiceError;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// The auth file's line for `user` ("user:password:level"), or empty.
std::string auth_password(const fs::path& auth, const std::string& user) {
  std::ifstream in(auth);
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':');
    if (a == std::string::npos || line.substr(0, a) != user) continue;
    auto b = line.find(':', a + 1);
    return line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  }
  return {};
}

double speed(const json& kib) {
  double v = kib.get<double>();
  return v <= 0 ? -1.0 : v;
}

}  // namespace

DelugeService::DelugeService(std::string data_dir, services::EventBus* events)
    : DaemonService("deluge", "deluged", events), data_dir_(std::move(data_dir)), events_(events) {}

DelugeService::~DelugeService() {
  std::lock_guard lock(mu_);
  stop_locked();
}

json DelugeService::defaults() const {
  json d = services::schema::engine_defaults();
  d.update({{"host", "localhost"},
            {"port", 58846},
            {"download_path", data_dir_ + "/downloads/torrents"},
            {"max_download_speed", 0},
            {"max_upload_speed", 0},
            {"auto_add_folder", ""},
            {"username", ""},
            {"password", ""},
            {"config_dir", data_dir_ + "/deluge"},
            {"listen_interface", ""},
            {"listen_port", 6881},
            {"dht", true},
            {"lsd", true},
            {"upnp", true},
            {"natpmp", true}});
  return d;
}

void DelugeService::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = sc::with_engine_rules({
      {"host", sc::host()},
      {"port", sc::port()},
      {"download_path", sc::path()},
      {"config_dir", sc::path()},
      {"auto_add_folder", sc::path({.may_be_empty = true})},
      {"max_download_speed", sc::speed()},
      {"max_upload_speed", sc::speed()},
      {"username", sc::text(256)},
      {"password", sc::text(256)},
      {"listen_interface", sc::interface()},
      {"listen_port", sc::port()},
  });
  sc::check(schema, c);
}

json DelugeService::core_settings(const json& c) {
  json s = {{"download_location", c["download_path"]},
            {"max_download_speed", speed(c["max_download_speed"])},
            {"max_upload_speed", speed(c["max_upload_speed"])},
            {"listen_interface", c["listen_interface"]},
            {"listen_ports", json::array({c["listen_port"], c["listen_port"]})},
            {"random_port", false},
            {"dht", c["dht"]},
            {"lsd", c["lsd"]},
            {"upnp", c["upnp"]},
            {"natpmp", c["natpmp"]},
            {"new_release_check", false},
            {"allow_remote", false}};
  return s;
}

std::string DelugeService::core_conf(const json& settings) {
  return json({{"file", 1}, {"format", 1}}).dump(4) + settings.dump(4);
}

json DelugeService::parse_core_conf(const std::string& text) {
  auto end = text.find('}');  // the version header holds no nested object
  if (end == std::string::npos) return json::object();
  json settings = json::parse(text.substr(end + 1), nullptr, false);
  return settings.is_object() ? settings : json::object();
}

RpcConfig DelugeService::rpc_config(const json& c) const {
  RpcConfig r;
  std::string host = c["host"].get<std::string>();
  r.host = services::is_local_host(host) ? "127.0.0.1" : host;
  r.port = c["port"].get<int>();
  r.username = c["username"].get<std::string>();
  r.password = c["password"].get<std::string>();
  if (r.username.empty()) {
    r.username = "localclient";
    r.password =
        auth_password(fs::path(c["config_dir"].get<std::string>()) / "auth", "localclient");
  }
  r.call_timeout = std::chrono::seconds(30);
  return r;
}

void DelugeService::install_deluged() {
  std::string why;
  if (services::apt_install("deluged", {"deluged", "deluge-console", "python3-libtorrent"}, why))
    return;
  sys::RunOptions o;
  o.argv = {"python3", "-m", "pip", "install", "--no-input", "deluge"};
  o.timeout = std::chrono::minutes(10);
  o.output_limit = 64 << 10;
  auto r = sys::run(o);
  if (r.exit_code == 0 && services::on_path("deluged")) return;
  throw ServiceError(ServiceError::Kind::unavailable,
                     "deluged is not installed and could not be installed (" + why + "; pip: " +
                         r.err.substr(0, 300) + "). Install it with: apt-get install deluged");
}

json DelugeService::start_locked(const json& c) {
  config_ = c;
  std::string host = c["host"].get<std::string>();
  int port = c["port"].get<int>();
  if (!services::is_local_host(host)) {
    auto rpc = std::make_unique<RpcClient>(rpc_config(c));
    try {
      rpc->connect();
    } catch (const RpcError& e) {
      throw ServiceError(ServiceError::Kind::unavailable,
                         "cannot reach the remote deluged: " + std::string(e.what()));
    }
    return attach_locked(c, std::move(rpc));
  }
  external_ = false;
  if (!services::on_path("deluged")) {
    if (!c["auto_install"].get<bool>())
      throw ServiceError(ServiceError::Kind::unavailable,
                         "deluged is not installed (apt-get install deluged), and auto_install "
                         "is off");
    install_deluged();
  }
  fs::path dir = c["config_dir"].get<std::string>();
  daemon_.stop_left_behind(dir);  // before the probe, which it would answer
  {
    // Something already on the RPC port: a deluged that takes our login is used as it is;
    // anything else would make ours fail with a log of tracebacks, so it is said plainly.
    RpcConfig probe_config = rpc_config(c);
    probe_config.connect_timeout = std::chrono::seconds(3);
    probe_config.call_timeout = std::chrono::seconds(3);
    auto probe = std::make_unique<RpcClient>(probe_config);
    try {
      probe->connect();
      log::warn(
          "a deluged already answers on 127.0.0.1:{} and takes our login: using it as it "
          "is (not managed)",
          port);
      return attach_locked(c, std::move(probe));
    } catch (const RpcError& e) {
      if (e.kind != RpcError::Kind::unreachable)
        throw ServiceError(ServiceError::Kind::conflict,
                           "port " + std::to_string(port) +
                               " is taken by another process, which does not take our login (" +
                               e.what() +
                               "): stop it, or set another 'port' (or, to use that deluged, "
                               "its 'username' and 'password')");
    }
  }
  try {
    store::ensure_dir(dir, 0700);
    store::ensure_dir(c["download_path"].get<std::string>(), 0755);
    // Our own localclient secret, unless the user manages the auth file.
    if (!fs::exists(dir / "auth"))
      store::write_file_atomic(dir / "auth", "localclient:" + random_hex(20) + ":10\n", 0600);
    json settings = json::object();
    if (std::ifstream in(dir / "core.conf"); in) {
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      settings = parse_core_conf(text);
    }
    settings.update(core_settings(c));
    settings["daemon_port"] = port;
    store::write_file_atomic(dir / "core.conf", core_conf(settings), 0600);
  } catch (const std::system_error& e) {
    throw ServiceError(ServiceError::Kind::failed, e.what());
  }
  std::vector<std::string> argv = {"deluged",     "-d",
                                   "-c",          dir.string(),
                                   "-p",          std::to_string(port),
                                   "-u",          "127.0.0.1",
                                   "-l",          (dir / "deluged.log").string(),
                                   "-L",          "warning",
                                   "--logrotate", "10M"};
  if (!c["listen_interface"].get<std::string>().empty()) {
    argv.push_back("-i");
    argv.push_back(c["listen_interface"].get<std::string>());
  }
  services::DaemonSpec spec;
  spec.argv = std::move(argv);
  spec.dir = dir;
  spec.log_file = dir / "deluged.log";
  spec.auto_restart = c["auto_restart"].get<bool>();
  // Ready when its RPC answers a login.
  auto rpc = std::make_shared<RpcClient>(rpc_config(c));
  spec.ready = [&rpc](std::string& why) {
    try {
      rpc->connect();
      return true;
    } catch (const RpcError& e) {
      why = e.what();
      return false;
    }
  };
  daemon_.start(spec);
  rpc_ = std::move(rpc);
  log::info("deluged is up (pid {}), RPC port {}", daemon_.pid(), port);
  intended_ = true;
  start_watch_locked();
  start_events_locked();
  return {{"pid", daemon_.pid()}, {"host", host}, {"port", port}, {"managed", true}};
}

json DelugeService::attach_locked(const json& c, std::unique_ptr<RpcClient> rpc) {
  external_ = true;
  rpc_ = std::move(rpc);
  intended_ = true;
  start_watch_locked();
  start_events_locked();
  return {{"pid", nullptr}, {"host", c["host"]}, {"port", c["port"]}, {"managed", false}};
}

void DelugeService::stop() {
  std::lock_guard lock(mu_);
  stop_locked();
}

void DelugeService::stop_locked() {
  stop_events_locked();
  watch_.reset();  // joins its thread
  watch_rpc_.reset();
  intended_ = false;
  daemon_.cancel_restart();
  if (external_) {
    rpc_.reset();
    external_ = false;
    return;
  }
  // Politely first: the daemon saves its state (resume data) on shutdown.
  auto rpc = std::move(rpc_);
  daemon_.stop([&rpc] {
    if (rpc) rpc->call("daemon.shutdown");
  });
}

bool DelugeService::alive_locked() {
  if (external_) return rpc_ != nullptr;
  return daemon_.alive();
}

void DelugeService::on_death_locked() {
  stop_events_locked();
  watch_.reset();
  watch_rpc_.reset();
  rpc_.reset();
}

bool DelugeService::running() {
  std::lock_guard lock(mu_);
  return alive_locked();
}

std::shared_ptr<RpcClient> DelugeService::rpc() {
  std::lock_guard lock(mu_);
  if (rpc_ && alive_locked()) return rpc_;
  throw ServiceError(ServiceError::Kind::unavailable, daemon_.unavailable_reason());
}

json DelugeService::status() {
  json st;
  std::shared_ptr<RpcClient> rpc;
  {
    std::lock_guard lock(mu_);
    json c = config_.is_object() ? config_ : defaults();
    bool up = alive_locked();
    st = {{"running", up},
          {"connected", false},
          {"host", c["host"]},
          {"port", c["port"]},
          {"download_path", c["download_path"]},
          {"managed", up && !external_}};
    st.update(daemon_.status());
    if (up) rpc = rpc_;
  }
  // Asked without the service lock: a daemon slow to answer holds up this status (and calls on
  // the same connection), not supervision or the running() checks.
  if (rpc) {
    static constexpr const char* kKeys[] = {"upload_rate",         "download_rate",
                                            "dht_nodes",           "num_peers",
                                            "payload_upload_rate", "payload_download_rate"};
    try {
      json s = rpc->call(
          "core.get_session_status",
          json::array({json(std::vector<std::string>(std::begin(kKeys), std::end(kKeys)))}));
      st["connected"] = true;
      json stats = json::object();
      for (const char* k : kKeys) stats[k] = s.contains(k) ? s[k] : json(0);
      st["stats"] = stats;
    } catch (const RpcError& e) {
      st["connected"] = false;
      st["rpc_error"] = e.what();
    }
  }
  return st;
}

std::vector<std::string> DelugeService::apply(const json& before, const json& after) {
  std::lock_guard lock(mu_);
  std::vector<std::string> restart;
  json live = json::object();
  json now = core_settings(after), was = core_settings(before);
  for (const auto& [k, v] : now.items())
    if (was[k] != v) live[k] = v;
  for (const char* k : {"host", "port", "config_dir", "username", "password"})
    if (before[k] != after[k]) restart.push_back(k);
  if (!live.empty() && rpc_) {
    try {
      rpc_->call("core.set_config", json::array({live}));
      if (live.contains("download_location"))
        store::ensure_dir(after["download_path"].get<std::string>(), 0755);
    } catch (const std::exception& e) {
      throw ServiceError(ServiceError::Kind::failed,
                         std::string("saved, but deluged refused it: ") + e.what());
    }
  }
  config_ = after;
  daemon_.set_auto_restart(after["auto_restart"].get<bool>());
  if (before["auto_add_folder"] != after["auto_add_folder"]) {
    watch_.reset();
    watch_rpc_.reset();
    start_watch_locked();
  }
  return restart;
}

void DelugeService::start_events_locked() {
  if (!events_) return;
  events_stop_ = false;
  events_thread_ = std::thread([this, cfg = rpc_config(config_)] { events_loop(cfg); });
}

void DelugeService::stop_events_locked() {
  events_stop_ = true;
  if (events_thread_.joinable()) events_thread_.join();
}

void DelugeService::events_loop(RpcConfig config) {
  config.connect_timeout = std::chrono::seconds(2);
  RpcClient rpc(config);
  bool subscribed = false;
  while (!events_stop_) {
    try {
      if (!subscribed) {
        rpc.connect();
        rpc.call("daemon.set_event_interest",
                 json::array({json::array({"TorrentAddedEvent", "TorrentStateChangedEvent",
                                           "TorrentFinishedEvent", "TorrentRemovedEvent"})}));
        subscribed = true;
      }
      auto ev = rpc.wait_event(std::chrono::milliseconds(300));
      if (ev && (*ev)[1].is_array() && !(*ev)[1].empty() && (*ev)[1][0].is_string())
        forward(rpc, *ev);
    } catch (const std::exception& e) {
      subscribed = false;  // reconnect and subscribe again, unless we are stopping
      for (int i = 0; i < 10 && !events_stop_; ++i) ::usleep(100000);
    }
  }
}

void DelugeService::forward(RpcClient& rpc, const json& ev) {
  const std::string name = ev[0].get<std::string>();
  const std::string hash = ev[1][0].get<std::string>();
  json fields = {{"service", "deluge"}, {"id", "deluge:" + hash}, {"native_id", hash}};
  if (name == "TorrentRemovedEvent") {
    fields["state"] = "canceled";
    fields["detail"] = "Removed";
    events_->publish("download.state", fields);
    return;
  }
  json s = rpc.call("core.get_torrent_status",
                    json::array({hash, json::array({"name", "total_wanted", "download_location",
                                                    "state", "is_finished"})}));
  fields["name"] = s.value("name", "");
  if (name == "TorrentFinishedEvent") {
    fields["size"] = s.value("total_wanted", 0LL);
    fields["dir"] = s.value("download_location", "");
    fields["path"] = (fs::path(s.value("download_location", "")) / s.value("name", "")).string();
    events_->publish("download.finished", fields);
    return;
  }
  std::string detail =
      name == "TorrentStateChangedEvent" && ev[1].size() > 1 && ev[1][1].is_string()
          ? ev[1][1].get<std::string>()
          : s.value("state", "");
  fields["detail"] = detail;
  fields["state"] = common_state(detail, s.value("is_finished", false));
  if (name == "TorrentAddedEvent") {
    events_->publish("download.added", fields);
  } else if (detail == "Error") {
    events_->publish("download.failed", fields);
  } else {
    events_->publish("download.state", fields);
  }
}

void DelugeService::start_watch_locked() {
  std::string dir = config_.value("auto_add_folder", "");
  if (dir.empty()) return;
  watch_rpc_ = std::make_unique<RpcClient>(rpc_config(config_));
  RpcClient* rpc = watch_rpc_.get();
  watch_ = std::make_unique<WatchFolder>(
      dir, [rpc](const std::string& path) { add_from_folder(*rpc, path); });
  std::string error;
  if (!watch_->start(error)) {
    log::error("auto_add_folder: {}", error);
    watch_.reset();
    return;
  }
  log::info("watching {} for .torrent files", dir);
}

void DelugeService::add_from_folder(RpcClient& rpc, const std::string& path) {
  std::error_code ec;
  std::string error;
  auto data = read_torrent_file(path, error);
  auto hash = data ? torrent_info_hash(*data) : std::nullopt;
  if (!hash) {
    log::warn("auto_add_folder: {} is not a torrent file{}; renamed .invalid", path,
              data ? "" : " (" + error + ")");
    fs::rename(path, path + ".invalid", ec);
    return;
  }
  try {
    rpc.call("core.add_torrent_file",
             json::array({fs::path(path).filename().string(), base64(*data), json::object()}));
    log::info("auto_add_folder: added {} ({})", path, *hash);
  } catch (const RpcError& e) {
    if (std::string(e.what()).find("already") == std::string::npos) {
      // The daemon is unreachable or refused it for another reason: log, and leave the file
      // for the next start.
      log::warn("auto_add_folder: {} not added: {}", path, e.what());
      if (e.kind == RpcError::Kind::remote) fs::rename(path, path + ".invalid", ec);
      return;
    }
  }
  fs::rename(path, path + ".added", ec);
}

}  // namespace moccha::deluge
