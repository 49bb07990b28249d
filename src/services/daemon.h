// The life of a daemon a service owns, written once for every engine: spawned in its own
// process group, its pid recorded (CONFIG_DIR/PROGRAM.pid) so a later agent can stop one an
// earlier agent left behind, its output appended to CONFIG_DIR/PROGRAM.out and kept bounded,
// ready when the engine's probe says so (watching that it did not die meanwhile), stopped
// politely (the engine's shutdown call) then SIGTERM then SIGKILL, each bounded, and restarted
// after an unexpected death with back-off 1 s, 2 s ... 60 s (reset after a minute up).
//
// Not thread-safe: the owning service calls it under its own lock. What stays in the service
// is its config, its RPC client and its endpoints.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/service.h"

namespace moccha::services {

class EventBus;

// Whether `host` names this machine ("", localhost, 127.0.0.1, ::1): a daemon Moccha may spawn.
bool is_local_host(const std::string& host);
// Whether `program` is an executable on PATH.
bool on_path(const std::string& program);
// Whether something accepts connections on 127.0.0.1:`port`.
bool port_in_use(int port);
// Installs Debian `packages` with apt-get (as root) so that `program` is on PATH; false with
// `why` when that cannot be done (not root, no apt-get, apt-get failed).
bool apt_install(const std::string& program, const std::vector<std::string>& packages,
                 std::string& why);

struct DaemonSpec {
  std::vector<std::string> argv;  // argv[0] is the program, looked up on PATH
  std::filesystem::path dir;      // its config dir: pidfile and output file live here
  std::filesystem::path cwd;      // where it runs (empty: the agent's directory)
  // Where its own errors go (last_error is its tail); empty: the output file.
  std::filesystem::path log_file;
  // Called every 200 ms until it returns true; `why` says what is missing for the error.
  std::function<bool(std::string& why)> ready;
  std::chrono::seconds ready_timeout{30};
  bool auto_restart = true;
  // For a program that restarts itself into a new process while starting (JDownloader on its
  // first run writes the new pid here): that process is followed as the daemon, not taken for
  // a crash. It is not our child: it is watched through /proc and stopped by signals.
  std::filesystem::path follow_pidfile;
};

class Daemon {
 public:
  // `service` names it in events and errors, `program` in logs and the pidfile's check.
  Daemon(std::string service, std::string program, EventBus* events = nullptr);
  ~Daemon();  // stops a child still running (without the polite call)

  // Stops the program an earlier agent left running on `dir` (its pidfile names it and its
  // command line still mentions `dir`), then spawns and waits until ready. Throws
  // ServiceError(failed) with the reason and the tail of its log.
  void start(const DaemonSpec& spec);
  // That first step alone, for a service that probes its port before starting.
  void stop_left_behind(const std::filesystem::path& dir) const;
  // `polite` (the engine's shutdown RPC; errors ignored) then waits up to `grace` for the
  // exit, then SIGTERM, and SIGKILL 5 s later. Any exit after our own stop is a clean stop.
  void stop(const std::function<void()>& polite = nullptr,
            std::chrono::milliseconds grace = std::chrono::seconds(10));

  // True while the child lives. The first call after an unexpected death records how it ended,
  // publishes service.died, schedules a restart (when auto_restart) and calls `on_death`.
  bool alive();
  void on_death(std::function<void()> f) { on_death_ = std::move(f); }

  // Called about once a second: when a scheduled restart is due, calls `restart` (which
  // starts the service again, through start()); a failure is recorded and retried later.
  void supervise(const std::function<void()>& restart);

  pid_t pid() const { return pid_; }
  // Cancels a scheduled restart (the user stopped or started the service).
  void cancel_restart() { restart_pending_ = false; }
  void set_auto_restart(bool on) { spec_.auto_restart = on; }
  // {"pid", "restarts", "last_exit", "last_error", "started_at"}: the fields every service's
  // status has (started_at: the last start, by the user or by supervision; null before one).
  nlohmann::json status() const;
  // Why a call cannot reach it now: restarting after a death, or stopped.
  std::string unavailable_reason() const;
  // What it writes, named after the service: its output file, and its own log when it has
  // one. Empty before its first start. Any thread.
  std::vector<LogFile> logs() const;

 private:
  std::filesystem::path file(const char* suffix) const;
  void cap_output() const;
  void schedule_restart();
  std::string log_tail() const;
  // The child ended while starting: the process it restarted itself into, if any (> 0).
  pid_t successor(pid_t old) const;
  // Takes the successor as the daemon, if there is one.
  bool follow();
  // How the daemon ended, if it has (empty while it lives): reaped for a child, seen in /proc
  // for an adopted one.
  std::string ended();

  std::string service_, program_;
  mutable std::mutex logs_mu_;
  std::vector<LogFile> logs_;
  EventBus* events_;
  DaemonSpec spec_;
  pid_t pid_ = -1;
  bool adopted_ = false;  // pid_ is the process it restarted itself into, not our child
  int restarts_ = 0;
  std::string last_exit_, last_error_;
  std::string started_wall_;  // ISO-8601 UTC of the last start
  std::function<void()> on_death_;
  std::chrono::steady_clock::time_point started_at_{}, restart_at_{};
  bool restart_pending_ = false;
  std::chrono::seconds backoff_{1};
};

}  // namespace moccha::services
