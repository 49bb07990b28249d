#include "system/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/capped_output.h"
#include "core/hex.h"
#include "system/sysinfo.h"

extern char** environ;

namespace moccha::sys {

namespace {

// The state letter and parent pid of /proc/PID/stat; nullopt if there is no such process.
struct ProcStat {
  char state;
  pid_t ppid;
};
std::optional<ProcStat> proc_stat(const std::string& pid) {
  std::string stat = read_file("/proc/" + pid + "/stat").value_or("");
  auto paren = stat.rfind(')');  // the name may hold spaces and parentheses: ") S PPID ..."
  if (paren == std::string::npos || paren + 4 >= stat.size()) return std::nullopt;
  return ProcStat{stat[paren + 2],
                  static_cast<pid_t>(std::strtol(stat.c_str() + paren + 4, nullptr, 10))};
}

// Gone, or a zombie waiting for a parent that is not us.
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  auto st = proc_stat(std::to_string(pid));
  return !st || st->state == 'Z';
}

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    if (!extra.count(name)) out.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

const std::string& agent_scope() {
  // The random part tells this agent's scopes from those of an earlier one with the same pid.
  static const std::string token = std::to_string(::getpid()) + "-" + random_hex(4);
  return token;
}

std::string new_scope() {
  static std::atomic<unsigned long> next{0};
  return agent_scope() + "." + std::to_string(++next);
}

namespace {

// Every pid on the machine with its parent.
std::vector<std::pair<pid_t, pid_t>> process_table() {
  std::vector<std::pair<pid_t, pid_t>> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (!end || *end || pid <= 0) continue;
    if (auto st = proc_stat(e->d_name)) out.emplace_back(static_cast<pid_t>(pid), st->ppid);
  }
  ::closedir(d);
  return out;
}

bool in_scope(pid_t pid, const std::string& scope, bool prefix) {
  std::string env = read_file("/proc/" + std::to_string(pid) + "/environ").value_or("");
  std::string key = std::string(kScopeVariable) + "=";
  for (std::size_t at = 0; at < env.size();) {
    std::size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    std::string_view var(env.data() + at, end - at);
    if (var.starts_with(key)) {
      std::string_view value = var.substr(key.size());
      return prefix ? value.starts_with(scope + ".") : value == scope;
    }
    at = end + 1;
  }
  return false;
}

// The pids whose parent chain leads to `root` (not `root` itself).
std::vector<pid_t> descendants(pid_t root) {
  auto table = process_table();
  std::vector<pid_t> out;
  std::vector<pid_t> frontier = {root};
  while (!frontier.empty()) {
    pid_t p = frontier.back();
    frontier.pop_back();
    for (const auto& [pid, ppid] : table) {
      if (ppid == p && pid != root) {
        out.push_back(pid);
        frontier.push_back(pid);
      }
    }
  }
  return out;
}

}  // namespace

int end_scope(const std::string& scope, pid_t leader, bool prefix) {
  int killed = 0;
  pid_t self = ::getpid();
  // A few rounds: a process may fork while its siblings are being killed.
  for (int round = 0; round < 5; ++round) {
    std::vector<pid_t> victims;
    if (leader > 0) victims = descendants(leader);
    for (const auto& [pid, ppid] : process_table()) {
      (void)ppid;
      if (pid != self && in_scope(pid, scope, prefix)) victims.push_back(pid);
    }
    int now = 0;
    for (pid_t pid : victims)
      if (pid != self && !process_gone(pid) && ::kill(pid, SIGKILL) == 0) ++now;
    killed += now;
    if (now == 0) break;
    ::usleep(10000);
  }
  return killed;
}

namespace {

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "unknown";
}

}  // namespace

pid_t spawn_daemon(const std::vector<std::string>& args, const std::string& log_file,
                   std::string& error, const std::string& cwd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  ChildAttributes attr;
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, attr.get(), argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    error = args[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

std::string reap_if_exited(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return describe(status);
  if (r < 0) return "gone";
  return {};
}

std::string stop_daemon(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return {};
  ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string end = reap_if_exited(pid);
    if (!end.empty()) {
      ::kill(-pid, SIGKILL);  // whatever it left in its group
      return end;
    }
    ::usleep(20000);
  }
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return describe(status);
}

std::string command_line(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text)
    if (c == '\0') c = ' ';
  return text;
}

namespace {

bool wait_gone(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::usleep(20000);
  }
  return true;
}

}  // namespace

bool stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return true;
  if (::getpgid(pid) == pid) ::kill(-pid, SIGTERM);
  ::kill(pid, SIGTERM);
  auto now = std::chrono::steady_clock::now();
  if (wait_gone(pid, now + grace)) return true;
  if (::getpgid(pid) == pid) ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  return wait_gone(pid, std::chrono::steady_clock::now() + std::chrono::seconds(2));
}

ChildAttributes::ChildAttributes(bool new_session) {
  posix_spawnattr_init(&attr_);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr_, &defaults);
  posix_spawnattr_setsigmask(&attr_, &none);
  posix_spawnattr_setpgroup(&attr_, 0);
  short group = new_session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
  posix_spawnattr_setflags(&attr_, group | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

ChildAttributes::~ChildAttributes() {
  posix_spawnattr_destroy(&attr_);
}

RunResult run(const RunOptions& opt) {
  RunResult r;
  auto started = Clock::now();
  if (opt.argv.empty()) {
    r.error = "empty command";
    return r;
  }
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.error = std::strerror(errno);
    return r;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.error = std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]}, err_r{err_pipe[0]}, err_w{err_pipe[1]};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  // Nothing else of the agent's leaks into the child: not the listening socket, not a
  // client's connection (which a lingering grandchild would otherwise hold open).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (!opt.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opt.cwd.c_str());
  ChildAttributes attr;

  std::vector<char*> argv;
  for (const auto& a : opt.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::string scope = opt.scope.empty() ? new_scope() : opt.scope;
  std::map<std::string, std::string> env = opt.env;
  env[kScopeVariable] = scope;
  std::vector<std::string> env_strings = merged_env(env);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, attr.get(), argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    r.error = opt.argv[0] + ": " + std::strerror(rc);
    return r;
  }
  r.started = true;

  auto deadline = started + opt.timeout;
  bool killed = false;
  CappedOutput out(opt.output_limit, opt.spill_out, opt.spill_limit);
  CappedOutput err(opt.output_limit, opt.spill_err, opt.spill_limit);
  char buf[65536];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    auto now = Clock::now();
    if (!killed && now >= deadline) {
      // The group first, at once: killed one by one, the shell could see its child die and
      // run its next command before its own turn. Then whatever left the group.
      ::kill(-pid, SIGKILL);
      end_scope(scope, pid);
      killed = true;
      r.timed_out = true;
      // Anything that left the group may keep the pipes open: read on only briefly.
      deadline = now + std::chrono::seconds(1);
    } else if (killed && now >= deadline) {
      break;
    }
    int wait_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? out : err).append({buf, static_cast<std::size_t>(got)});
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        (i == 0 ? out_r : err_r).reset();
      }
    }
  }
  auto take = [](CappedOutput& capture, std::string& text, bool& truncated, std::uint64_t& bytes,
                 bool& spilled) {
    capture.close();
    text = capture.take();
    truncated = capture.truncated();
    bytes = capture.total();
    spilled = capture.spilled();
  };
  take(out, r.out, r.out_truncated, r.out_bytes, r.out_spilled);
  take(err, r.err, r.err_truncated, r.err_bytes, r.err_spilled);
  int status = 0;
  if (!killed) {
    // Output closed; the child may still run (it closed its stdout). Respect the deadline.
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        ::kill(-pid, SIGKILL);
        end_scope(scope, pid);
        r.timed_out = true;
        ::waitpid(pid, &status, 0);
        break;
      }
      ::usleep(2000);
    }
  } else {
    ::waitpid(pid, &status, 0);
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

}  // namespace moccha::sys
