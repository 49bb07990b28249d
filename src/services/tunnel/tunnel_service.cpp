#include "services/tunnel/tunnel_service.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "core/log.h"
#include "services/schema.h"
#include "services/tunnel/public_url.h"
#include "store/files.h"

namespace moccha::tunnel {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

struct TunnelService::Plan {
  std::string program;  // also the Daemon's name for its pidfile and output
  std::vector<std::string> argv;
  // The public URL from the program's output since it started; nullopt until it is up.
  std::function<std::optional<std::string>(std::string_view)> url;
  // Why it failed, from the same output (for the start error).
  std::function<std::string(std::string_view)> failure = [](std::string_view) {
    return std::string();
  };
};

namespace {

std::string read_from(const fs::path& file, std::uintmax_t offset) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec || offset > size) offset = 0;  // rotated since: all of it is new
  in.seekg(static_cast<std::streamoff>(offset));
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string program_path(const json& c, const char* key, const char* fallback) {
  std::string p = c[key].get<std::string>();
  return p.empty() ? fallback : p;
}

}  // namespace

TunnelService::TunnelService(std::string data_dir, services::EventBus* events)
    : DaemonService("tunnel", "tunnel", events), data_dir_(std::move(data_dir)) {}

TunnelService::~TunnelService() {
  std::lock_guard lock(mu_);
  intended_ = false;
  daemon_.stop();
}

json TunnelService::defaults() const {
  return {{"enabled", false},       {"autostart", true},  {"auto_restart", true},
          {"provider", "ssh"},      {"ssh_host", ""},     {"ssh_port", 22},
          {"ssh_user", ""},         {"ssh_key_file", ""}, {"remote_port", 0},
          {"remote_bind", ""},      {"keepalive_s", 15},  {"public_url", ""},
          {"cloudflared_path", ""}, {"ngrok_path", ""},   {"ngrok_authtoken", ""}};
}

void TunnelService::validate(const json& c) const {
  namespace sc = services::schema;
  static const sc::Schema schema = {
      {"provider",
       [](const std::string& key, const json& v) {
         std::string p = v.get<std::string>();
         if (p != "ssh" && p != "cloudflared" && p != "ngrok")
           throw ServiceError(ServiceError::Kind::invalid,
                              "'" + key + "' is one of ssh, cloudflared, ngrok");
       }},
      {"ssh_host", sc::text(253)},
      {"ssh_port", sc::port()},
      {"ssh_user", sc::text(64)},
      {"ssh_key_file", sc::path({.may_be_empty = true})},
      {"remote_port", sc::integer(0, 65535)},
      {"remote_bind", sc::text(253)},
      {"keepalive_s", sc::integer(1, 3600)},
      {"public_url", sc::url(true)},
      {"cloudflared_path", sc::path({.may_be_empty = true})},
      {"ngrok_path", sc::path({.may_be_empty = true})},
      {"ngrok_authtoken", sc::text(256)},
  };
  sc::check(schema, c);
  std::string host = c.value("ssh_host", "");
  if (host.empty() && c.value("provider", "ssh") == "ssh" && c.value("enabled", false))
    throw ServiceError(ServiceError::Kind::invalid, "'ssh_host' is needed for provider ssh");
  if (!host.empty() && (host[0] == '-' || host.find_first_of(" @") != std::string::npos))
    throw ServiceError(ServiceError::Kind::invalid,
                       "'ssh_host' is a host name or address (the user goes in 'ssh_user')");
  std::string user = c.value("ssh_user", "");
  if (!user.empty() && (user[0] == '-' || user.find_first_of(" @:") != std::string::npos))
    throw ServiceError(ServiceError::Kind::invalid, "'ssh_user' is a plain user name");
}

std::string TunnelService::dir() const {
  return data_dir_ + "/tunnel";
}

TunnelService::Plan TunnelService::plan(const json& c) const {
  std::string provider = c["provider"].get<std::string>();
  std::string local = "127.0.0.1:" + std::to_string(agent_port_.load());
  Plan p;
  if (provider == "cloudflared") {
    p.program = "cloudflared";
    // Its pidfile in our dir also names the dir on its command line, which is how a later
    // agent recognises (and stops) one an earlier agent left behind.
    p.argv = {program_path(c, "cloudflared_path", "cloudflared"),
              "tunnel",
              "--no-autoupdate",
              "--pidfile",
              (fs::path(dir()) / "cloudflared.pid").string(),
              "--url",
              "http://" + local};
    p.url = [](std::string_view out) { return cloudflared_url(out); };
    return p;
  }
  if (provider == "ngrok") {
    // The authtoken goes in a config file of ours (0600), never on the command line.
    fs::path conf = fs::path(dir()) / "ngrok.yml";
    std::string text = "version: \"2\"\n";
    if (!c["ngrok_authtoken"].get<std::string>().empty())
      text += "authtoken: " + c["ngrok_authtoken"].get<std::string>() + "\n";
    store::write_file_atomic(conf, text, 0600);
    p.program = "ngrok";
    p.argv = {program_path(c, "ngrok_path", "ngrok"),
              "http",
              local,
              "--config",
              conf.string(),
              "--log",
              "stdout",
              "--log-format",
              "logfmt"};
    p.url = [](std::string_view out) { return ngrok_url(out); };
    return p;
  }
  std::string host = c["ssh_host"].get<std::string>();
  std::string user = c["ssh_user"].get<std::string>();
  std::string bind = c["remote_bind"].get<std::string>();
  int remote = c["remote_port"].get<int>();
  std::string forward = (bind.empty() ? "" : bind + ":") + std::to_string(remote) + ":" + local;
  std::string keepalive = std::to_string(c["keepalive_s"].get<int>());
  p.program = "ssh";
  p.argv = {"ssh", "-N", "-v", "-F", "none",
            // Never a prompt; a forward that cannot be made is a failure, not a silent ssh.
            "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
            // A dead link is noticed in 3 keepalives, and ssh exits: supervision reconnects.
            "-o", "ServerAliveInterval=" + keepalive, "-o", "ServerAliveCountMax=3", "-o",
            "ConnectTimeout=15",
            // The server's key is pinned on first use in a known_hosts of our own.
            "-o", "StrictHostKeyChecking=accept-new", "-o",
            "UserKnownHostsFile=" + (fs::path(dir()) / "known_hosts").string(), "-p",
            std::to_string(c["ssh_port"].get<int>()), "-R", forward};
  if (!c["ssh_key_file"].get<std::string>().empty()) {
    p.argv.insert(p.argv.end(),
                  {"-o", "IdentitiesOnly=yes", "-i", c["ssh_key_file"].get<std::string>()});
  }
  if (!user.empty()) p.argv.insert(p.argv.end(), {"-l", user});
  p.argv.push_back("--");
  p.argv.push_back(host);
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string configured = c["public_url"].get<std::string>();
  p.url = [configured, shown_host](std::string_view out) -> std::optional<std::string> {
    auto port = ssh_forwarded_port(out);
    if (!port) return std::nullopt;
    if (!configured.empty()) return configured;
    return "http://" + shown_host + ":" + std::to_string(*port);
  };
  p.failure = [](std::string_view out) { return ssh_failure(out); };
  return p;
}

json TunnelService::start_locked(const json& c) {
  config_ = c;
  if (agent_port_ <= 0)
    throw ServiceError(ServiceError::Kind::unavailable, "the agent is not listening yet");
  if (c["provider"] == "ssh" && c["ssh_host"].get<std::string>().empty())
    throw ServiceError(ServiceError::Kind::invalid,
                       "set 'ssh_host' (and ssh_user, ssh_key_file) first, or another provider");
  fs::path d = dir();
  try {
    store::ensure_dir(d, 0700);
  } catch (const std::system_error& e) {
    throw ServiceError(ServiceError::Kind::failed, e.what());
  }
  Plan p = plan(c);
  if (!services::on_path(p.argv[0]) && !fs::exists(p.argv[0]))
    throw ServiceError(ServiceError::Kind::unavailable,
                       p.argv[0] + " is not installed" +
                           (p.program == "ssh" ? ": apt-get install openssh-client"
                                               : ": install it, or set " + p.program + "_path"));
  // Only what it says from now on counts (its output file is appended to across runs).
  fs::path out = d / "tunnel.out";
  std::error_code ec;
  std::uintmax_t offset = fs::exists(out, ec) ? fs::file_size(out, ec) : 0;
  services::DaemonSpec spec;
  spec.argv = p.argv;
  spec.dir = d;
  spec.auto_restart = c["auto_restart"].get<bool>();
  spec.ready_timeout = std::chrono::seconds(45);
  std::string url;
  spec.ready = [&](std::string& why) {
    std::string text = read_from(out, offset);
    if (auto u = p.url(text)) {
      url = *u;
      return true;
    }
    std::string failure = p.failure(text);
    why = failure.empty() ? p.program + " has not reported its public address yet" : failure;
    return false;
  };
  try {
    daemon_.start(spec);
  } catch (const ServiceError& e) {
    // A refusal by the far end is said in a user's words, a gateway's error (502), with
    // where the whole conversation is; anything else as the daemon said it.
    std::string failure = p.failure(read_from(out, offset));
    if (failure.empty()) throw;
    throw ServiceError(ServiceError::Kind::bad_reply,
                       p.program + ": " + failure + " (its output: " + out.string() + ")");
  }
  set_public_url_locked(url);
  intended_ = true;
  log::info("tunnel up through {} (pid {}): {}", p.program, daemon_.pid(), url);
  return {
      {"pid", daemon_.pid()}, {"provider", c["provider"]}, {"public_url", url}, {"managed", true}};
}

void TunnelService::stop() {
  std::lock_guard lock(mu_);
  intended_ = false;
  set_public_url_locked({});
  daemon_.stop(nullptr, std::chrono::seconds(3));
}

bool TunnelService::running() {
  std::lock_guard lock(mu_);
  return daemon_.alive();
}

std::string TunnelService::public_url() {
  std::lock_guard lock(mu_);
  return daemon_.alive() ? public_url_ : std::string();
}

void TunnelService::set_public_url_locked(std::string url) {
  public_url_ = url;
  std::lock_guard lock(url_mu_);
  url_now_ = std::move(url);
}

std::string TunnelService::public_url_now() const {
  std::lock_guard lock(url_mu_);
  return url_now_;
}

json TunnelService::status() {
  std::lock_guard lock(mu_);
  json c = config_.is_object() ? config_ : defaults();
  bool up = daemon_.alive();
  json st = {{"running", up},
             {"connected", up && !public_url_.empty()},
             {"provider", c["provider"]},
             {"public_url", up && !public_url_.empty() ? json(public_url_) : json(nullptr)},
             {"managed", up}};
  if (c["provider"] == "ssh") {
    st["host"] = c["ssh_host"];
    st["port"] = c["ssh_port"];
  }
  st.update(daemon_.status());
  return st;
}

std::vector<std::string> TunnelService::apply(const json& before, const json& after) {
  std::lock_guard lock(mu_);
  std::vector<std::string> restart;
  for (const auto& [k, v] : after.items())
    if (k != "enabled" && k != "autostart" && k != "auto_restart" && before[k] != v)
      restart.push_back(k);
  config_ = after;
  daemon_.set_auto_restart(after["auto_restart"].get<bool>());
  return restart;
}

}  // namespace moccha::tunnel
