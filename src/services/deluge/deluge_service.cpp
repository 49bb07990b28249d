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
#include "services/deluge/torrent_file.h"
#include "services/schema.h"
#include "store/files.h"
#include "system/process.h"

namespace moccha::deluge {

using json = nlohmann::json;
using services::ServiceError;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

bool is_local(const std::string& host) {
  return host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

std::string tail_of(const fs::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(size > bytes ? size - bytes : 0));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

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

DelugeService::DelugeService(std::string data_dir) : data_dir_(std::move(data_dir)) {}

DelugeService::~DelugeService() {
  std::lock_guard lock(mu_);
  if (pid_ > 0) stop_locked();
}

json DelugeService::defaults() const {
  return {{"enabled", true},
          {"host", "localhost"},
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
          {"natpmp", true},
          {"auto_install", true},
          {"auto_restart", true},
          {"autostart", true},
          {"webhooks", json::array()},
          {"webhook_secret", ""}};
}

void DelugeService::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = {
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
      {"webhooks", sc::url_list(32)},
      {"webhook_secret", sc::text(256)},
  };
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
  r.host = is_local(host) ? "127.0.0.1" : host;
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
  log::info("deluged not found: installing it (auto_install is on)");
  std::string why;
  if (::geteuid() == 0 && on_path("apt-get")) {
    sys::RunOptions o;
    o.argv = {
        "apt-get",        "install",           "-y", "-q", "--no-install-recommends", "deluged",
        "deluge-console", "python3-libtorrent"};
    o.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
    o.timeout = std::chrono::minutes(10);
    o.output_limit = 64 << 10;
    auto r = sys::run(o);
    log::info("apt-get install deluged: {}", r.exit_code == 0 ? "done" : r.err);
    if (r.exit_code == 0 && on_path("deluged")) return;
    why = "apt-get failed: " + r.err.substr(0, 500);
  } else {
    why = ::geteuid() == 0 ? "apt-get is not available" : "not root, so apt-get cannot run";
  }
  sys::RunOptions o;
  o.argv = {"python3", "-m", "pip", "install", "--no-input", "deluge"};
  o.timeout = std::chrono::minutes(10);
  o.output_limit = 64 << 10;
  auto r = sys::run(o);
  if (r.exit_code == 0 && on_path("deluged")) return;
  throw ServiceError(ServiceError::Kind::unavailable,
                     "deluged is not installed and could not be installed (" + why + "; pip: " +
                         r.err.substr(0, 300) + "). Install it with: apt-get install deluged");
}

json DelugeService::start(const json& config) {
  std::lock_guard lock(mu_);
  restart_pending_ = false;
  return start_locked(config);
}

json DelugeService::start_locked(const json& c) {
  config_ = c;
  std::string host = c["host"].get<std::string>();
  int port = c["port"].get<int>();
  if (!is_local(host)) {
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
  if (!on_path("deluged")) {
    if (!c["auto_install"].get<bool>())
      throw ServiceError(ServiceError::Kind::unavailable,
                         "deluged is not installed (apt-get install deluged), and auto_install "
                         "is off");
    install_deluged();
  }
  fs::path dir = c["config_dir"].get<std::string>();
  stop_left_behind(dir);
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
  std::string error;
  cap_output_locked();
  pid_ = sys::spawn_daemon(argv, (dir / "deluged.out").string(), error);
  if (pid_ < 0) throw ServiceError(ServiceError::Kind::failed, "cannot start deluged: " + error);
  started_at_ = Clock::now();
  log::info("deluged started (pid {}), RPC port {}", pid_, port);
  try {
    store::write_file_atomic(dir / "deluged.pid", std::to_string(pid_) + "\n", 0600);
  } catch (const std::system_error& e) {
    log::warn("cannot record deluged's pid: {}", e.what());
  }
  // Ready when its RPC answers a login; bounded, and watching that it did not die.
  rpc_ = std::make_shared<RpcClient>(rpc_config(c));
  auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string last;
  while (true) {
    std::string end = sys::reap_if_exited(pid_);
    if (!end.empty()) {
      pid_ = -1;
      last_exit_ = end;
      last_error_ = tail_of(dir / "deluged.log", 2000);
      rpc_.reset();
      throw ServiceError(ServiceError::Kind::failed,
                         "deluged exited while starting (" + end + "): " + last_error_);
    }
    try {
      rpc_->connect();
      break;
    } catch (const RpcError& e) {
      last = e.what();
    }
    if (Clock::now() >= deadline) {
      sys::stop_daemon(pid_, std::chrono::seconds(5));
      pid_ = -1;
      rpc_.reset();
      throw ServiceError(
          ServiceError::Kind::failed,
          "deluged did not answer on port " + std::to_string(port) + " within 30 s: " + last);
    }
    ::usleep(200000);
  }
  intended_ = true;
  start_watch_locked();
  start_events_locked();
  return {{"pid", pid_}, {"host", host}, {"port", port}, {"managed", true}};
}

json DelugeService::attach_locked(const json& c, std::unique_ptr<RpcClient> rpc) {
  external_ = true;
  rpc_ = std::move(rpc);
  intended_ = true;
  start_watch_locked();
  start_events_locked();
  return {{"pid", nullptr}, {"host", c["host"]}, {"port", c["port"]}, {"managed", false}};
}

void DelugeService::cap_output_locked() {
  // deluged 2.0.3 on Python 3.11 prints a traceback for many of its own log calls (a logging
  // API mismatch; the daemon works): its stdout/stderr would grow with every torrent.
  constexpr std::uintmax_t kMaxOutputBytes = 8u << 20;
  if (!config_.is_object()) return;
  fs::path out = fs::path(config_["config_dir"].get<std::string>()) / "deluged.out";
  if (store::cap_appended_log(out, kMaxOutputBytes))
    log::info("{} passed {} bytes: kept as .1 and emptied", out.string(), kMaxOutputBytes);
}

void DelugeService::stop_left_behind(const fs::path& dir) {
  fs::path pidfile = dir / "deluged.pid";
  std::ifstream in(pidfile);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  // Only if that pid is still a deluged of this config dir: pids are reused.
  std::string cmd = sys::command_line(pid);
  if (cmd.find("deluged") != std::string::npos &&
      cmd.find(" " + dir.string() + " ") != std::string::npos) {
    log::warn("deluged (pid {}) was left running by an earlier agent: stopping it", pid);
    if (!sys::stop_process(pid, std::chrono::seconds(10)))
      throw ServiceError(ServiceError::Kind::failed,
                         "the deluged an earlier agent left running (pid " + std::to_string(pid) +
                             ") does not stop");
  }
  std::error_code ec;
  fs::remove(pidfile, ec);
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
  restart_pending_ = false;
  if (external_) {
    rpc_.reset();
    external_ = false;
    return;
  }
  if (pid_ <= 0) return;
  // Politely first: the daemon saves its state (resume data) on shutdown.
  if (rpc_) {
    try {
      rpc_->call("daemon.shutdown");
    } catch (const RpcError&) {
      // A dropped connection is the expected answer to a shutdown.
    }
  }
  rpc_.reset();
  std::string end;
  for (int i = 0; i < 500 && end.empty(); ++i) {  // up to 10 s
    end = sys::reap_if_exited(pid_);
    if (end.empty()) ::usleep(20000);
  }
  if (end.empty()) end = sys::stop_daemon(pid_, std::chrono::seconds(5));
  last_exit_ = end;
  log::info("deluged (pid {}) stopped: {}", pid_, end);
  pid_ = -1;
  std::error_code ec;
  fs::remove(fs::path(config_["config_dir"].get<std::string>()) / "deluged.pid", ec);
}

bool DelugeService::alive_locked() {
  if (external_) return rpc_ != nullptr;
  return child_alive_locked();
}

bool DelugeService::child_alive_locked() {
  if (pid_ <= 0) return false;
  std::string end = sys::reap_if_exited(pid_);
  if (end.empty()) return true;
  last_exit_ = end;
  last_error_ = tail_of(fs::path(config_["config_dir"].get<std::string>()) / "deluged.log", 2000);
  log::warn("deluged (pid {}) died unexpectedly: {}", pid_, end);
  pid_ = -1;
  stop_events_locked();
  watch_.reset();
  watch_rpc_.reset();
  rpc_.reset();
  if (intended_ && config_.value("auto_restart", true)) {
    restart_pending_ = true;
    restart_at_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::seconds(60));
  } else {
    intended_ = false;
  }
  return false;
}

bool DelugeService::running() {
  std::lock_guard lock(mu_);
  return alive_locked();
}

std::shared_ptr<RpcClient> DelugeService::rpc() {
  std::lock_guard lock(mu_);
  if (rpc_ && alive_locked()) return rpc_;
  if (intended_ && restart_pending_)
    throw ServiceError(ServiceError::Kind::unavailable,
                       "deluged stopped unexpectedly (" + last_exit_ +
                           ") and is being restarted; try again shortly");
  throw ServiceError(ServiceError::Kind::unavailable,
                     "start it with POST /services/deluge/start (moccha service-start deluge)");
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
          {"managed", up && !external_},
          {"pid", pid_ > 0 ? json(pid_) : json(nullptr)},
          {"restarts", restarts_},
          {"last_exit", last_exit_.empty() ? json(nullptr) : json(last_exit_)},
          {"last_error", last_error_.empty() ? json(nullptr) : json(last_error_)}};
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
  set_hooks(after);
  if (before["auto_add_folder"] != after["auto_add_folder"]) {
    watch_.reset();
    watch_rpc_.reset();
    start_watch_locked();
  }
  return restart;
}

void DelugeService::set_hooks(const json& config) {
  std::lock_guard lock(hooks_mu_);
  hook_urls_ = config.value("webhooks", json::array()).get<std::vector<std::string>>();
  hook_secret_ = config.value("webhook_secret", "");
}

void DelugeService::start_events_locked() {
  set_hooks(config_);
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
        rpc.call("daemon.set_event_interest", json::array({json::array({"TorrentFinishedEvent"})}));
        subscribed = true;
      }
      auto ev = rpc.wait_event(std::chrono::milliseconds(300));
      if (!ev || (*ev)[0] != "TorrentFinishedEvent" || !(*ev)[1].is_array() || (*ev)[1].empty())
        continue;
      std::string id = (*ev)[1][0].get<std::string>();
      std::vector<std::string> urls;
      std::string secret;
      {
        std::lock_guard lock(hooks_mu_);
        urls = hook_urls_;
        secret = hook_secret_;
      }
      if (urls.empty()) continue;
      json s =
          rpc.call("core.get_torrent_status",
                   json::array({id, json::array({"name", "total_wanted", "download_location"})}));
      json payload = {{"event", "torrent_finished"},
                      {"torrent_id", id},
                      {"name", s.value("name", "")},
                      {"size", s.value("total_wanted", 0LL)},
                      {"download_path", s.value("download_location", "")},
                      {"time", iso8601_utc_now()}};
      log::info("torrent {} finished: notifying {} webhook(s)", id, urls.size());
      webhooks_.send(urls, secret, payload);
    } catch (const std::exception& e) {
      subscribed = false;  // reconnect and subscribe again, unless we are stopping
      for (int i = 0; i < 10 && !events_stop_; ++i) ::usleep(100000);
    }
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

void DelugeService::supervise() {
  std::lock_guard lock(mu_);
  if (!intended_ || external_) return;
  cap_output_locked();
  if (restart_pending_) {
    if (Clock::now() < restart_at_) return;
    restart_pending_ = false;
    try {
      ++restarts_;
      start_locked(config_);
      log::info("deluged restarted by supervision (restart {})", restarts_);
    } catch (const std::exception& e) {
      last_error_ = e.what();
      log::error("restarting deluged failed: {}", e.what());
      intended_ = true;
      restart_pending_ = true;
      restart_at_ = Clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, std::chrono::seconds(60));
    }
    return;
  }
  if (child_alive_locked() && Clock::now() - started_at_ > std::chrono::minutes(1)) {
    // Up for a minute: a later death starts the back-off from the beginning again.
    backoff_ = std::chrono::seconds(1);
  }
}

}  // namespace moccha::deluge
