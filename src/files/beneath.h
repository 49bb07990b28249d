// Opening a path that has been checked, without following anything the check did not see.
//
// PathPolicy checks where a path really leads (symlinks resolved), but a check by name and a
// later open by name race: another process can turn a component into a symlink in between.
// So every file operation opens through a directory descriptor, resolving the checked (and
// symlink-free) path component by component with no symlink followed at all: openat2(2) with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the kernel has it (5.6+),
// else a walk of openat(2) with O_NOFOLLOW. A component that became a symlink fails the open
// (ELOOP), and nothing resolves above `dirfd`.
#pragma once

#include <sys/types.h>

#include <string>

namespace moccha::files {

// An owned descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

enum class Resolver { automatic, openat2, walk };

// Opens `relative` (no leading '/', no "." or ".." components; empty: `dirfd` itself) under
// `dirfd` with `flags` (O_CLOEXEC added) and `mode`. Returns -1 with errno set on failure:
// ELOOP when a component is a symlink, EXDEV or ENOENT when it leaves or is missing.
// `Resolver::walk` forces the fallback (tests); `automatic` picks openat2 once it has worked.
int open_beneath(int dirfd, const std::string& relative, int flags, mode_t mode = 0,
                 Resolver how = Resolver::automatic);

// Opens `relative` under `dirfd` as open_beneath does, but only if the kernel can do it from
// its dentry cache (RESOLVE_CACHED, Linux 5.12+): it never waits on a disk or a server.
// -1 with EAGAIN when it would have to, or with ENOSYS/EINVAL on a kernel without it.
// `relative` may be an absolute path when `dirfd` is AT_FDCWD (then nothing is "beneath").
int open_cached(int dirfd, const std::string& relative, int flags);

}  // namespace moccha::files
