// A pseudo-terminal with a new session on it: what a terminal emulator does when it opens a
// window. The child is its session's leader, so the pty is its controlling terminal and a
// hang-up (or ending its scope) reaches everything it started there.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace moccha::sys {

struct PtyChild {
  int master = -1;  // non-blocking, close-on-exec; the caller closes it
  pid_t pid = -1;   // the caller reaps it
};

// Opens a pty of `cols` x `rows` and starts `argv` (argv[0] is the path; `arg0` replaces it in
// the child's argv when set: "-bash" for a login shell) on it, in `cwd`, with `env` added to
// the agent's environment. Throws std::runtime_error saying what failed.
PtyChild spawn_on_pty(const std::vector<std::string>& argv, const std::string& arg0,
                      const std::string& cwd, const std::map<std::string, std::string>& env,
                      int cols, int rows);

// TIOCSWINSZ: the kernel tells the foreground process group (SIGWINCH).
bool resize_pty(int master, int cols, int rows);

// The user's login shell (passwd), else /bin/sh.
std::string login_shell();

}  // namespace moccha::sys
