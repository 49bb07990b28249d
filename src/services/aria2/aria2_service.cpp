#include "services/aria2/aria2_service.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/hex.h"
#include "core/log.h"
#include "services/aria2/notifications.h"
#include "services/schema.h"
#include "store/files.h"

namespace moccha::aria2 {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

std::string limit(const json& kib) {
  double v = kib.get<double>();
  return v <= 0 ? "0" : std::to_string(static_cast<long long>(v)) + "K";
}

}  // namespace

Aria2Service::Aria2Service(std::string data_dir, services::EventBus* events)
    : DaemonService("aria2", "aria2c", events), data_dir_(std::move(data_dir)) {}

void Aria2Service::on_death_locked() {
  notifications_.reset();
  rpc_.reset();
}

Aria2Service::~Aria2Service() {
  std::lock_guard lock(mu_);
  stop_locked();
}

json Aria2Service::defaults() const {
  json d = services::schema::engine_defaults();
  d.update({{"port", 6800},
            {"rpc_secret", ""},
            {"download_path", data_dir_ + "/downloads/direct"},
            {"max_download_speed", 0},
            {"max_upload_speed", 0},
            {"max_concurrent_downloads", 5},
            {"connections_per_server", 4}});
  return d;
}

void Aria2Service::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = sc::with_engine_rules({
      {"port", sc::port()},
      {"rpc_secret", sc::text(256)},
      {"download_path", sc::path()},
      {"max_download_speed", sc::speed()},
      {"max_upload_speed", sc::speed()},
      {"max_concurrent_downloads", sc::integer(1, 100)},
      {"connections_per_server", sc::integer(1, 16)},  // aria2's own cap
  });
  sc::check(schema, c);
}

std::string Aria2Service::dir() const {
  return data_dir_ + "/aria2";
}

json Aria2Service::global_options(const json& c) {
  return {{"max-overall-download-limit", limit(c["max_download_speed"])},
          {"max-overall-upload-limit", limit(c["max_upload_speed"])},
          {"max-concurrent-downloads", std::to_string(c["max_concurrent_downloads"].get<int>())},
          {"max-connection-per-server", std::to_string(c["connections_per_server"].get<int>())},
          {"split", std::to_string(c["connections_per_server"].get<int>())},
          {"dir", c["download_path"].get<std::string>()}};
}

std::string Aria2Service::conf_text(const json& c, const std::string& secret,
                                    const std::string& dir) {
  std::string session = dir + "/aria2.session";
  std::string out =
      "# Written by moccha at each start; edits are lost. Secret: keep this file 0600.\n"
      "enable-rpc=true\n"
      "rpc-listen-all=false\n"
      "rpc-allow-origin-all=false\n"
      "rpc-listen-port=" +
      std::to_string(c["port"].get<int>()) + "\nrpc-secret=" + secret +
      "\n"
      // Unfinished downloads survive a restart or a kill: same id, the file resumed.
      "input-file=" +
      session + "\nsave-session=" + session +
      "\nsave-session-interval=1\n"
      "auto-save-interval=1\n"
      "continue=true\n"
      "keep-unfinished-download-result=true\n"
      "max-download-result=1000\n"
      "min-split-size=1M\n"
      "file-allocation=none\n"
      "summary-interval=0\n"
      "console-log-level=warn\n"
      "log-level=warn\n"
      "log=" +
      dir +
      "/aria2.log\n"
      // Direct links only: torrents are Deluge's, and nothing reaches out on its own.
      "follow-torrent=false\n"
      "enable-dht=false\n"
      "enable-dht6=false\n"
      "bt-enable-lpd=false\n"
      "enable-peer-exchange=false\n";
  json options = global_options(c);
  for (const auto& [k, v] : options.items()) out += k + "=" + v.get<std::string>() + "\n";
  return out;
}

json Aria2Service::start_locked(const json& c) {
  config_ = c;
  if (!services::on_path("aria2c")) {
    std::string why = "auto_install is off";
    if (!c["auto_install"].get<bool>() || !services::apt_install("aria2c", {"aria2"}, why))
      throw ServiceError(ServiceError::Kind::unavailable, "aria2c is not installed (" + why +
                                                              "). Install it with: apt-get "
                                                              "install aria2");
  }
  int port = c["port"].get<int>();
  fs::path d = dir();
  daemon_.stop_left_behind(d);
  if (services::port_in_use(port))
    throw ServiceError(ServiceError::Kind::conflict,
                       "port " + std::to_string(port) +
                           " is taken by another process: stop it, or set another 'port'");
  std::string secret = c["rpc_secret"].get<std::string>();
  if (secret.empty()) secret = random_hex(24);  // a new one each start, known only to us
  try {
    store::ensure_dir(d, 0700);
    store::ensure_dir(c["download_path"].get<std::string>(), 0755);
    if (!fs::exists(d / "aria2.session")) store::write_file_atomic(d / "aria2.session", "", 0600);
    fs::permissions(d / "aria2.session", fs::perms::owner_read | fs::perms::owner_write);
    store::write_file_atomic(d / "aria2.conf", conf_text(c, secret, d.string()), 0600);
  } catch (const std::system_error& e) {
    throw ServiceError(ServiceError::Kind::failed, e.what());
  }
  services::DaemonSpec spec;
  spec.argv = {"aria2c", "--conf-path=" + (d / "aria2.conf").string(),
               "--stop-with-process=" + std::to_string(::getpid())};
  spec.dir = d;
  spec.log_file = d / "aria2.log";
  spec.auto_restart = c["auto_restart"].get<bool>();
  auto rpc = std::make_shared<RpcClient>(port, secret, std::chrono::seconds(10));
  // Ready when its RPC answers with our secret (a wrong one is answered slowly, by design).
  spec.ready = [&rpc](std::string& why) {
    try {
      rpc->call("aria2.getVersion");
      return true;
    } catch (const RpcError& e) {
      why = e.what();
      return false;
    }
  };
  daemon_.start(spec);
  rpc_ = std::move(rpc);
  intended_ = true;
  notifications_ = std::make_unique<Notifications>(
      port,
      [this, rpc = rpc_](const std::string& method, const std::string& gid) {
        std::lock_guard hooks(hooks_mu_);
        if (on_event_) on_event_(method, gid, *rpc);
      },
      [this, rpc = rpc_] {
        std::lock_guard hooks(hooks_mu_);
        if (on_connect_) on_connect_(*rpc);
      });
  log::info("aria2c is up (pid {}), RPC port {}", daemon_.pid(), port);
  return {{"pid", daemon_.pid()}, {"host", "127.0.0.1"}, {"port", port}, {"managed", true}};
}

void Aria2Service::on_notification(OnEvent e, OnConnect c) {
  std::lock_guard hooks(hooks_mu_);
  on_event_ = std::move(e);
  on_connect_ = std::move(c);
}

void Aria2Service::stop() {
  std::lock_guard lock(mu_);
  stop_locked();
}

void Aria2Service::stop_locked() {
  notifications_.reset();
  intended_ = false;
  auto rpc = std::move(rpc_);
  // forceShutdown still saves the session, without the seconds aria2.shutdown spends on
  // goodbyes; any exit code after our own stop is clean (aria2 exits with "the last error it
  // met", 7 with unfinished downloads).
  daemon_.stop([&rpc] {
    if (rpc) rpc->call("aria2.forceShutdown");
  });
}

bool Aria2Service::running() {
  std::lock_guard lock(mu_);
  return daemon_.alive();
}

std::shared_ptr<RpcClient> Aria2Service::rpc() {
  std::lock_guard lock(mu_);
  if (rpc_ && daemon_.alive()) return rpc_;
  throw ServiceError(ServiceError::Kind::unavailable,
                     "aria2 is not running: " + daemon_.unavailable_reason());
}

std::string Aria2Service::download_path() {
  std::lock_guard lock(mu_);
  return (config_.is_object() ? config_ : defaults())["download_path"].get<std::string>();
}

json Aria2Service::status() {
  json st;
  std::shared_ptr<RpcClient> rpc;
  {
    std::lock_guard lock(mu_);
    json c = config_.is_object() ? config_ : defaults();
    bool up = daemon_.alive();
    st = {{"running", up},
          {"connected", false},
          {"host", "127.0.0.1"},
          {"port", c["port"]},
          {"download_path", c["download_path"]},
          {"managed", up},
          {"notifications", up && notifications_ && notifications_->connected()}};
    st.update(daemon_.status());
    if (up) rpc = rpc_;
  }
  if (rpc) {
    try {
      json v = rpc->call("aria2.getVersion");
      st["connected"] = true;
      st["version"] = v.value("version", "");
    } catch (const RpcError& e) {
      st["rpc_error"] = e.what();
    }
  }
  return st;
}

std::vector<std::string> Aria2Service::apply(const json& before, const json& after) {
  std::lock_guard lock(mu_);
  std::vector<std::string> restart;
  for (const char* k : {"port", "rpc_secret"})
    if (before[k] != after[k]) restart.push_back(k);
  json live = json::object();
  json now = global_options(after), was = global_options(before);
  for (const auto& [k, v] : now.items())
    if (was[k] != v) live[k] = v;
  if (!live.empty() && rpc_) {
    try {
      if (live.contains("dir")) store::ensure_dir(after["download_path"].get<std::string>(), 0755);
      rpc_->call("aria2.changeGlobalOption", json::array({live}));
    } catch (const std::exception& e) {
      throw ServiceError(ServiceError::Kind::failed,
                         std::string("saved, but aria2 refused it: ") + e.what());
    }
  }
  config_ = after;
  daemon_.set_auto_restart(after["auto_restart"].get<bool>());
  return restart;
}

}  // namespace moccha::aria2
