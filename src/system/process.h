// Running a child to completion: spawned in its own process group with stdout and stderr on
// pipes, output captured up to a cap, the whole group killed when the deadline passes, and the
// child always reaped. Blocking: call it from a worker thread, never from the I/O thread.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace moccha::sys {

// Process scopes. Every child the agent runs for a user (a shell command, pip, the kernel)
// carries MOCCHA_SCOPE=<its scope> in its environment, and everything it starts inherits it,
// whether it stays in the child's process group or leaves it (setsid, nohup, a double fork).
// Ending a scope ends every process that carries it, and every descendant of the child still
// attached to it (which covers one that cleared its environment).
inline constexpr const char* kScopeVariable = "MOCCHA_SCOPE";
// A new scope of this agent: "<agent>.<n>".
std::string new_scope();
// This agent's own prefix ("<pid>-<random>"), which all its scopes start with.
const std::string& agent_scope();
// SIGKILLs every process in `scope` (with `prefix`: in any scope starting with `scope.`) and
// every descendant of `leader` (when > 0). Returns how many processes it killed.
int end_scope(const std::string& scope, pid_t leader = -1, bool prefix = false);

struct RunOptions {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  std::chrono::milliseconds timeout{30000};
  std::string cwd;                         // empty: inherit
  std::map<std::string, std::string> env;  // added to (or replacing in) the inherited env
  std::size_t output_limit = 1u << 20;     // per stream, in memory; the rest is spilled or dropped
  // Where a stream that passes output_limit is written whole (CappedOutput), up to spill_limit.
  std::filesystem::path spill_out, spill_err;
  std::uint64_t spill_limit = 0;
  // Set to a new scope when empty. At the timeout the scope is ended: the group, and whatever
  // left it. A child that exits in time may leave background processes running (nohup x &).
  std::string scope;
};

struct RunResult {
  bool started = false;    // false: spawn failed, see `error`
  int exit_code = -1;      // when it exited normally
  int signal = 0;          // when a signal ended it
  bool timed_out = false;  // the group was killed at the deadline
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  std::uint64_t out_bytes = 0, err_bytes = 0;     // what each stream wrote in all
  bool out_spilled = false, err_spilled = false;  // its spill file holds more than `out`/`err`
  std::string error;
  double seconds = 0;
};

RunResult run(const RunOptions& options);

// Starts a long-lived child (a daemon we supervise) in its own process group, stdin from
// /dev/null, stdout and stderr appended to `log_file`, in `cwd` (empty: the agent's). Returns
// its pid, or -1 with `error` set. The caller reaps it (waitpid) and stops it (kill_group).
pid_t spawn_daemon(const std::vector<std::string>& argv, const std::string& log_file,
                   std::string& error, const std::string& cwd = {});
// SIGTERM, then SIGKILL after `grace`, to the child's whole group; reaps it. Returns how it
// ended ("exit code 0", "signal 9").
std::string stop_daemon(pid_t pid, std::chrono::milliseconds grace);
// Non-blocking: the child's end as text if it has exited (and is now reaped), else empty.
std::string reap_if_exited(pid_t pid);

// The agent's environment with `extra` added (or replacing), as "NAME=value" entries.
std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra);

// A process that is not our child (a daemon a previous agent started and left running).
// Its command line, arguments joined by spaces; empty if there is no such process (or, for a
// moment, while it is in execve).
std::string command_line(pid_t pid);
// SIGTERM to it and its group, SIGKILL after `grace`; waits (polling: it is not ours to reap)
// until it is gone or only a zombie. True if it went within grace + 2 s.
bool stop_process(pid_t pid, std::chrono::milliseconds grace);

// posix_spawn attributes every child of the agent gets: a process group of its own (so a
// timeout or shutdown kills its whole tree, and a Ctrl-C at the agent's terminal does not reach
// it), SIGINT/SIGTERM/SIGPIPE at their defaults, and no signal blocked.
// With `new_session`, a session of its own instead (setsid: a shell on a terminal).
class ChildAttributes {
 public:
  explicit ChildAttributes(bool new_session = false);
  ~ChildAttributes();
  ChildAttributes(const ChildAttributes&) = delete;
  ChildAttributes& operator=(const ChildAttributes&) = delete;
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

}  // namespace moccha::sys
