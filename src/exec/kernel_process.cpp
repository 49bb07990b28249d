#include "exec/kernel_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "system/process.h"

extern char** environ;
extern const char kKernelSource[];

namespace moccha::exec {
namespace {

using Clock = std::chrono::steady_clock;

// Moves `fd` to 10 or above so dup2 onto 3 and 4 in the child cannot clobber it.
int high_fd(int fd) {
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return moved;
}

}  // namespace

bool KernelProcess::spawn(std::string& error) {
  kill();
  int req[2], rep[2];
  if (::pipe2(req, O_CLOEXEC) != 0 || ::pipe2(rep, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  for (int* fd : {&req[0], &req[1], &rep[0], &rep[1]}) *fd = high_fd(*fd);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  const char* log = opt_.log_file.empty() ? "/dev/null" : opt_.log_file.c_str();
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_adddup2(&fa, req[0], 3);
  posix_spawn_file_actions_adddup2(&fa, rep[1], 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);  // no socket of the agent's leaks in
  if (!opt_.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opt_.cwd.c_str());
  sys::ChildAttributes attr;

  std::vector<std::string> args = {opt_.python, "-c", kKernelSource, "3", "4"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (!std::string_view(*e).starts_with("PYTHONUNBUFFERED=")) env.emplace_back(*e);
  env.emplace_back("PYTHONUNBUFFERED=1");
  // What the kernel starts (subprocess.Popen, os.system("setsid ... &")) goes with it when it
  // is restarted or killed.
  scope_ = sys::new_scope();
  env.emplace_back(std::string(sys::kScopeVariable) + "=" + scope_);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int rc = ::posix_spawnp(&pid_, argv[0], &fa, attr.get(), argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(req[0]);
  ::close(rep[1]);
  to_kernel_ = req[1];
  from_kernel_ = rep[0];
  buffer_.clear();
  exit_.clear();
  if (rc != 0) {
    pid_ = -1;
    kill();
    error = "cannot start " + opt_.python + ": " + std::strerror(rc);
    return false;
  }
  return true;
}

bool KernelProcess::wait_ready(std::string& error) {
  if (pid_ <= 0) {
    error = "the kernel is not running";
    return false;
  }
  nlohmann::json ready;
  std::string why;
  Read r = read(ready, Clock::now() + opt_.start_timeout, why);
  if (r != Read::frame || ready.value("type", "") != "ready") {
    error = "the kernel (" + opt_.python +
            ") did not start: " + (r == Read::timeout ? std::string("no answer in time") : why);
    kill();
    return false;
  }
  return true;
}

bool KernelProcess::send(const nlohmann::json& frame) {
  if (to_kernel_ < 0) return false;
  std::string body = frame.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::uint32_t n = static_cast<std::uint32_t>(body.size());
  unsigned char header[4] = {static_cast<unsigned char>(n >> 24),
                             static_cast<unsigned char>(n >> 16),
                             static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  std::string data(reinterpret_cast<char*>(header), 4);
  data += body;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(to_kernel_, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}

KernelProcess::Read KernelProcess::read(nlohmann::json& frame, Clock::time_point deadline,
                                        std::string& why) {
  while (true) {
    if (buffer_.size() >= 4) {
      auto b = reinterpret_cast<const unsigned char*>(buffer_.data());
      std::size_t n =
          (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) | (std::size_t(b[2]) << 8) | b[3];
      if (n > opt_.max_frame_bytes) {
        why = "the kernel sent an oversized frame";
        return Read::dead;
      }
      if (buffer_.size() >= 4 + n) {
        frame = nlohmann::json::parse(buffer_.begin() + 4, buffer_.begin() + 4 + n, nullptr, false);
        buffer_.erase(0, 4 + n);
        if (frame.is_discarded()) {
          why = "the kernel sent a malformed frame";
          return Read::dead;
        }
        return Read::frame;
      }
    }
    if (from_kernel_ < 0) {
      why = "the kernel is not running";
      return Read::dead;
    }
    // Poll at least once, even past the deadline: data that is already there is read.
    auto now = Clock::now();
    int ms = now >= deadline
                 ? 0
                 : static_cast<int>(
                       std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    pollfd p{from_kernel_, POLLIN, 0};
    int rc = ::poll(&p, 1, ms);
    if (rc < 0 && errno != EINTR) {
      why = std::string("poll: ") + std::strerror(errno);
      return Read::dead;
    }
    if (rc == 0 && Clock::now() >= deadline) return Read::timeout;
    if (rc <= 0) continue;
    char chunk[65536];
    ssize_t got = ::read(from_kernel_, chunk, sizeof chunk);
    if (got > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      // The pipe closed: the kernel is exiting. Give it a moment, then make sure.
      for (int i = 0; i < 50 && !reap(false); ++i) ::usleep(10000);
      if (pid_ > 0) ::kill(-pid_, SIGKILL);
      reap(true);
      why = "the kernel died (" + exit_ + ")";
      return Read::dead;
    }
  }
}

void KernelProcess::interrupt() const {
  if (pid_ > 0) ::kill(pid_, SIGINT);
}

bool KernelProcess::reap(bool wait) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
  if (r == 0) return false;
  if (r == pid_) {
    if (WIFEXITED(status))
      exit_ = "exit code " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
      exit_ = "signal " + std::to_string(WTERMSIG(status));
  }
  pid_ = -1;
  return true;
}

void KernelProcess::kill() {
  if (to_kernel_ >= 0) ::close(to_kernel_);
  if (from_kernel_ >= 0) ::close(from_kernel_);
  to_kernel_ = from_kernel_ = -1;
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // the group at once, then what left it
    ::kill(pid_, SIGKILL);
    sys::end_scope(scope_, pid_);
    reap(true);
  }
}

}  // namespace moccha::exec
