#include "system/pty.h"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "system/process.h"

namespace moccha::sys {

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

}  // namespace

PtyChild spawn_on_pty(const std::vector<std::string>& argv, const std::string& arg0,
                      const std::string& cwd, const std::map<std::string, std::string>& env,
                      int cols, int rows) {
  if (argv.empty()) throw std::runtime_error("no command");
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("posix_openpt", errno);
  char name[128];
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0 ||
      ::ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    ::close(master);
    fail("pty setup", err);
  }
  resize_pty(master, cols, rows);

  // The child opens the terminal as its session's leader (POSIX_SPAWN_SETSID comes first), so
  // it becomes the controlling terminal; stdout and stderr are copies of it.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addopen(&fa, 0, name, O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, 0, 1);
  posix_spawn_file_actions_adddup2(&fa, 0, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  ChildAttributes attr(/*new_session=*/true);
  std::vector<std::string> env_strings = merged_env(env);
  std::vector<char*> envp, args;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  if (!arg0.empty()) args[0] = const_cast<char*>(arg0.c_str());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, attr.get(), args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ::close(master);
    fail(argv[0], rc);
  }
  ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
  return {master, pid};
}

bool resize_pty(int master, int cols, int rows) {
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  return ::ioctl(master, TIOCSWINSZ, &ws) == 0;
}

std::string login_shell() {
  passwd pw{}, *found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &found) == 0 && found && pw.pw_shell &&
      *pw.pw_shell && ::access(pw.pw_shell, X_OK) == 0)
    return pw.pw_shell;
  return "/bin/sh";
}

}  // namespace moccha::sys
