#include "files/beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace moccha::files {
namespace {

std::atomic<bool> openat2_missing{false};

// One openat2(2) call, no symlink followed; `resolve` adds to that.
long call_openat2(int dirfd, const std::string& relative, int flags, mode_t mode,
                  unsigned long long resolve) {
  open_how how{};
  how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | resolve;
  return ::syscall(SYS_openat2, dirfd, relative.empty() ? "." : relative.c_str(), &how, sizeof how);
}

int via_openat2(int dirfd, const std::string& relative, int flags, mode_t mode) {
  long fd;
  do {
    fd = call_openat2(dirfd, relative, flags, mode, RESOLVE_BENEATH);
  } while (fd < 0 && errno == EAGAIN);  // a rename elsewhere raced the lookup: try again
  return static_cast<int>(fd);
}

int via_walk(int dirfd, const std::string& relative, int flags, mode_t mode) {
  if (relative.empty()) return ::openat(dirfd, ".", flags | O_CLOEXEC, mode);
  int cur = dirfd;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = relative.find('/', start);
    std::string part = relative.substr(start, slash == std::string::npos ? slash : slash - start);
    if (part.empty() || part == "." || part == "..") {
      if (cur != dirfd) ::close(cur);
      errno = EXDEV;
      return -1;
    }
    bool last = slash == std::string::npos;
    // An inner component is opened as it is (O_PATH | O_NOFOLLOW opens a symlink itself) and
    // then looked at: a symlink is ELOOP, anything else not a directory ENOTDIR.
    int next = last ? ::openat(cur, part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode)
                    : ::openat(cur, part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int saved = errno;
    if (cur != dirfd) ::close(cur);
    if (next < 0) {
      errno = saved;
      return -1;
    }
    if (!last) {
      struct stat st {};
      int err = ::fstat(next, &st) != 0 ? errno
                : S_ISLNK(st.st_mode)   ? ELOOP
                : !S_ISDIR(st.st_mode)  ? ENOTDIR
                                        : 0;
      if (err) {
        ::close(next);
        errno = err;
        return -1;
      }
    }
    if (last) return next;
    cur = next;
    start = slash + 1;
  }
}

}  // namespace

int open_cached(int dirfd, const std::string& relative, int flags) {
  unsigned long long resolve = RESOLVE_CACHED | (dirfd != AT_FDCWD ? RESOLVE_BENEATH : 0);
  return static_cast<int>(call_openat2(dirfd, relative, flags, 0, resolve));
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int open_beneath(int dirfd, const std::string& relative, int flags, mode_t mode, Resolver how) {
  if (how == Resolver::walk || (how == Resolver::automatic && openat2_missing.load()))
    return via_walk(dirfd, relative, flags, mode);
  int fd = via_openat2(dirfd, relative, flags, mode);
  if (fd < 0 && errno == ENOSYS && how == Resolver::automatic) {
    openat2_missing = true;  // an older kernel (or a seccomp filter): walk from now on
    return via_walk(dirfd, relative, flags, mode);
  }
  return fd;
}

}  // namespace moccha::files
