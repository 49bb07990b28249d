// Where the file endpoints may reach: relative paths live under the workspace, absolute ones
// must fall inside one of the configured roots, after symlinks and ".." are resolved.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "files/beneath.h"

namespace moccha::files {

enum class Code { invalid, forbidden, not_found, exists, io };

// The Error for errno `err` from an operation described by `what` (DiskFull for ENOSPC).
[[noreturn]] void fail_errno(int err, const std::string& what);

// What went wrong, for the API to map to a status (400, 403, 404, 409, 500).
class Error : public std::runtime_error {
 public:
  Error(Code code, std::string message) : std::runtime_error(std::move(message)), code(code) {}
  Code code;
};

class PathPolicy {
 public:
  // `roots` and `workspace` are canonicalised once here; missing roots are kept as given.
  PathPolicy(std::string workspace, const std::vector<std::string>& roots);

  // The real path `user_path` names (symlinks resolved). When `must_exist` is false, the last
  // component may be missing (a file to create); its parent must then exist unless
  // `create_parents`. Throws Error: forbidden outside the roots, not_found, invalid.
  std::filesystem::path resolve(const std::string& user_path, bool must_exist = true) const;

  // Opens `real` (a path resolve() returned) from the root it lies in, following no symlink
  // on the way (files/beneath.h): if any component changed since the check, the open fails
  // (Error forbidden) instead of reaching wherever a new symlink points. Throws Error.
  UniqueFd open(const std::filesystem::path& real, int flags, mode_t mode = 0) const;
  // resolve() and open() in one, with a fast path: a path without ".." that opens with no
  // symlink on the way is already canonical, so the resolution (a readlink per component) is
  // skipped; any other is resolved first. Returns the real path and the descriptor.
  struct Opened {
    std::filesystem::path real;
    UniqueFd fd;
  };
  Opened resolve_and_open(const std::string& user_path, int flags) const;
  // The same fast path, but only from the kernel's caches (files/beneath.h open_cached): for
  // the I/O thread, which must not block. nullopt whenever that is not possible, or the path
  // needs resolving, or anything fails: the caller then does it on a pool.
  std::optional<Opened> try_open_cached(const std::string& user_path, int flags) const;
  // The directory holding `real`, opened the same way (O_PATH); `name` gets the last component.
  UniqueFd open_parent(const std::filesystem::path& real, std::string& name) const;

  const std::filesystem::path& workspace() const { return workspace_; }

 private:
  bool inside_roots(const std::filesystem::path& p) const;
  const std::filesystem::path* root_of(const std::filesystem::path& p) const;
  std::optional<Opened> open_simple(const std::string& user_path, int flags, bool cached) const;
  std::filesystem::path workspace_;
  std::vector<std::filesystem::path> roots_;
};

// A file name as uploaded: kept exactly, but refused when it holds '/', NUL, or is "." / "..".
bool valid_file_name(const std::string& name);

}  // namespace moccha::files
