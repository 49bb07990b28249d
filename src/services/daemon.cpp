#include "services/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/time_util.h"
#include "services/events.h"
#include "services/service.h"
#include "store/files.h"
#include "system/process.h"

namespace moccha::services {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

std::string tail_of(const fs::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(size > bytes ? size - bytes : 0));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

bool is_local_host(const std::string& host) {
  return host.empty() || host == "localhost" || host == "127.0.0.1" || host == "::1";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(ss, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

bool port_in_use(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return used;
}

bool apt_install(const std::string& program, const std::vector<std::string>& packages,
                 std::string& why) {
  log::info("{} not found: installing it (auto_install is on)", program);
  if (::geteuid() != 0) {
    why = "not root, so apt-get cannot run";
    return false;
  }
  if (!on_path("apt-get")) {
    why = "apt-get is not available";
    return false;
  }
  sys::RunOptions o;
  o.argv = {"apt-get", "install", "-y", "-q", "--no-install-recommends"};
  o.argv.insert(o.argv.end(), packages.begin(), packages.end());
  o.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
  o.timeout = std::chrono::minutes(10);
  o.output_limit = 64 << 10;
  auto r = sys::run(o);
  log::info("apt-get install {}: {}", program, r.exit_code == 0 ? "done" : r.err);
  if (r.exit_code == 0 && on_path(program)) return true;
  why = "apt-get failed: " + r.err.substr(0, 500);
  return false;
}

Daemon::Daemon(std::string service, std::string program, EventBus* events)
    : service_(std::move(service)), program_(std::move(program)), events_(events) {}

Daemon::~Daemon() {
  if (pid_ > 0 && adopted_)
    sys::stop_process(pid_, std::chrono::seconds(5));
  else if (pid_ > 0)
    sys::stop_daemon(pid_, std::chrono::seconds(5));
}

pid_t Daemon::successor(pid_t old) const {
  if (spec_.follow_pidfile.empty()) return -1;
  std::ifstream in(spec_.follow_pidfile);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0 || pid == old) return -1;
  std::string cmd = sys::command_line(pid);
  return cmd.find(program_) != std::string::npos ? pid : -1;
}

std::string Daemon::ended() {
  if (!adopted_) return sys::reap_if_exited(pid_);
  // Not ours to reap: gone (or a zombie, which has no command line) is all we can see.
  return sys::command_line(pid_).empty() ? "gone (it was not our child: no exit status)" : "";
}

std::vector<LogFile> Daemon::logs() const {
  std::lock_guard lock(logs_mu_);
  return logs_;
}

fs::path Daemon::file(const char* suffix) const {
  return spec_.dir / (program_ + suffix);
}

std::string Daemon::log_tail() const {
  return tail_of(spec_.log_file.empty() ? file(".out") : spec_.log_file, 2000);
}

void Daemon::stop_left_behind(const fs::path& dir) const {
  fs::path pidfile = dir / (program_ + ".pid");
  std::ifstream in(pidfile);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  // Only if that pid is still our program on this config dir: pids are reused.
  std::string cmd = sys::command_line(pid) + " ";
  if (cmd.find(program_) != std::string::npos && cmd.find(dir.string()) != std::string::npos) {
    log::warn("{} (pid {}) was left running by an earlier agent: stopping it", program_, pid);
    if (!sys::stop_process(pid, std::chrono::seconds(10)))
      throw ServiceError(ServiceError::Kind::failed, "the " + program_ +
                                                         " an earlier agent left running (pid " +
                                                         std::to_string(pid) + ") does not stop");
  }
  std::error_code ec;
  fs::remove(pidfile, ec);
}

void Daemon::cap_output() const {
  // deluged 2.0.3 on Python 3.11 prints a traceback for many of its own log calls: a daemon's
  // stdout/stderr must not grow without bound.
  constexpr std::uintmax_t kMaxOutputBytes = 8u << 20;
  if (spec_.dir.empty()) return;
  if (store::cap_appended_log(file(".out"), kMaxOutputBytes))
    log::info("{} passed {} bytes: kept as .1 and emptied", file(".out").string(), kMaxOutputBytes);
}

void Daemon::start(const DaemonSpec& spec) {
  spec_ = spec;
  {
    std::lock_guard lock(logs_mu_);
    logs_ = {{service_ + ".out", file(".out")}};
    if (!spec_.log_file.empty()) logs_.insert(logs_.begin(), {service_, spec_.log_file});
  }
  restart_pending_ = false;
  stop_left_behind(spec_.dir);
  cap_output();
  std::string error;
  pid_ = sys::spawn_daemon(spec_.argv, file(".out").string(), error, spec_.cwd.string());
  if (pid_ < 0)
    throw ServiceError(ServiceError::Kind::failed, "cannot start " + program_ + ": " + error);
  adopted_ = false;
  started_at_ = Clock::now();
  started_wall_ = iso8601_utc_now();
  log::info("{} started (pid {})", program_, pid_);
  try {
    store::write_file_atomic(file(".pid"), std::to_string(pid_) + "\n", 0600);
  } catch (const std::system_error& e) {
    log::warn("cannot record {}'s pid: {}", program_, e.what());
  }
  // Ready when the probe says so; bounded, and watching that it did not die.
  auto deadline = Clock::now() + spec_.ready_timeout;
  std::string why;
  while (true) {
    std::string end = ended();
    if (!end.empty()) {
      if (follow()) continue;  // restarted itself (a first run): the new process is the daemon
      pid_ = -1;
      last_exit_ = end;
      last_error_ = log_tail();
      throw ServiceError(ServiceError::Kind::failed,
                         program_ + " exited while starting (" + end + "): " + last_error_);
    }
    if (!spec_.ready || spec_.ready(why)) break;
    if (Clock::now() >= deadline) {
      if (adopted_)
        sys::stop_process(pid_, std::chrono::seconds(5));
      else
        sys::stop_daemon(pid_, std::chrono::seconds(5));
      pid_ = -1;
      throw ServiceError(ServiceError::Kind::failed,
                         program_ + " did not become ready within " +
                             std::to_string(spec_.ready_timeout.count()) + " s: " + why);
    }
    ::usleep(200000);
  }
}

void Daemon::stop(const std::function<void()>& polite, std::chrono::milliseconds grace) {
  restart_pending_ = false;
  if (pid_ <= 0) return;
  if (polite) {
    try {
      polite();
    } catch (const std::exception&) {
      // A dropped connection is the expected answer to a shutdown.
    }
  }
  std::string end;
  for (auto until = Clock::now() + grace; end.empty() && Clock::now() < until;) {
    end = ended();
    if (end.empty()) ::usleep(20000);
  }
  if (end.empty() && adopted_)
    end =
        sys::stop_process(pid_, std::chrono::seconds(5)) ? "stopped by a signal" : "does not stop";
  else if (end.empty())
    end = sys::stop_daemon(pid_, std::chrono::seconds(5));
  last_exit_ = end;
  log::info("{} (pid {}) stopped: {}", program_, pid_, end);
  pid_ = -1;
  std::error_code ec;
  fs::remove(file(".pid"), ec);
}

bool Daemon::follow() {
  pid_t next = successor(pid_);
  if (next <= 0) return false;
  log::info("{} (pid {}) restarted itself as pid {}: following it", program_, pid_, next);
  pid_ = next;
  adopted_ = true;
  try {
    store::write_file_atomic(file(".pid"), std::to_string(pid_) + "\n", 0600);
  } catch (const std::system_error& e) {
    log::warn("cannot record {}'s pid: {}", program_, e.what());
  }
  return true;
}

bool Daemon::alive() {
  if (pid_ <= 0) return false;
  std::string end = ended();
  if (end.empty()) return true;
  if (follow()) return true;  // it restarted itself: not a death
  last_exit_ = end;
  last_error_ = log_tail();
  log::warn("{} (pid {}) died unexpectedly: {}", program_, pid_, end);
  if (events_)
    events_->publish("service.died",
                     {{"service", service_}, {"pid", pid_}, {"exit", end}, {"id", nullptr}});
  pid_ = -1;
  if (spec_.auto_restart) schedule_restart();
  if (on_death_) on_death_();
  return false;
}

void Daemon::schedule_restart() {
  restart_pending_ = true;
  restart_at_ = Clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::seconds(60));
}

void Daemon::supervise(const std::function<void()>& restart) {
  cap_output();
  if (restart_pending_) {
    if (Clock::now() < restart_at_) return;
    restart_pending_ = false;
    try {
      ++restarts_;
      restart();
      log::info("{} restarted by supervision (restart {})", program_, restarts_);
      if (events_)
        events_->publish("service.restarted",
                         {{"service", service_}, {"pid", pid_}, {"restarts", restarts_}});
    } catch (const std::exception& e) {
      last_error_ = e.what();
      log::error("restarting {} failed: {}", program_, e.what());
      schedule_restart();
    }
    return;
  }
  if (alive() && Clock::now() - started_at_ > std::chrono::minutes(1)) {
    // Up for a minute: a later death starts the back-off from the beginning again.
    backoff_ = std::chrono::seconds(1);
  }
}

json Daemon::status() const {
  return {{"pid", pid_ > 0 ? json(pid_) : json(nullptr)},
          {"restarts", restarts_},
          {"last_exit", last_exit_.empty() ? json(nullptr) : json(last_exit_)},
          {"last_error", last_error_.empty() ? json(nullptr) : json(last_error_)},
          {"started_at", started_wall_.empty() ? json(nullptr) : json(started_wall_)}};
}

std::string Daemon::unavailable_reason() const {
  if (restart_pending_)
    return program_ + " stopped unexpectedly (" + last_exit_ +
           ") and is being restarted; try again shortly";
  return "start it with POST /services/" + service_ + "/start (moccha service-start " + service_ +
         ")";
}

}  // namespace moccha::services
