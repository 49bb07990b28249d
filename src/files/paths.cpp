#include "files/paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace moccha::files {

namespace fs = std::filesystem;

PathPolicy::PathPolicy(std::string workspace, const std::vector<std::string>& roots) {
  std::error_code ec;
  workspace_ = fs::weakly_canonical(workspace, ec);
  if (ec) workspace_ = workspace;
  for (const auto& r : roots) {
    fs::path c = fs::weakly_canonical(r, ec);
    roots_.push_back(ec ? fs::path(r) : c);
  }
}

void fail_errno(int e, const std::string& what) {
  throw_if_disk_full(e, what);
  if (e == ELOOP || e == EXDEV)
    throw Error(Code::forbidden, what + ": the path changed while it was opened (a symlink)");
  Code code = e == ENOENT                     ? Code::not_found
              : e == EEXIST || e == ENOTEMPTY ? Code::exists
              : e == ENOTDIR                  ? Code::exists
              : e == EACCES || e == EPERM     ? Code::forbidden
                                              : Code::io;
  std::string why = e == ENOTDIR ? "a file is where a directory is expected" : std::strerror(e);
  throw Error(code, what + ": " + why);
}

const fs::path* PathPolicy::root_of(const fs::path& p) const {
  const fs::path* best = nullptr;
  for (const auto& root : roots_) {
    auto rel = p.lexically_relative(root);
    bool inside = p == root || (!rel.empty() && *rel.begin() != "..");
    if (inside && (!best || root.native().size() > best->native().size())) best = &root;
  }
  return best;
}

UniqueFd PathPolicy::open(const fs::path& real, int flags, mode_t mode) const {
  const fs::path* root = root_of(real);
  if (!root) throw Error(Code::forbidden, real.string() + " is outside the allowed roots");
  UniqueFd rootfd(::open(root->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) fail_errno(errno, "open " + root->string());
  std::string rel = real == *root ? std::string() : real.lexically_relative(*root).string();
  UniqueFd fd(open_beneath(rootfd.get(), rel, flags, mode));
  if (!fd) fail_errno(errno, "open " + real.string());
  return fd;
}

UniqueFd PathPolicy::open_parent(const fs::path& real, std::string& name) const {
  name = real.filename().string();
  if (name.empty() || real == real.root_path())
    throw Error(Code::invalid, "no parent directory for " + real.string());
  return open(real.parent_path(), O_PATH | O_DIRECTORY);
}

bool PathPolicy::inside_roots(const fs::path& p) const {
  for (const auto& root : roots_) {
    auto rel = p.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != "..") return true;
    if (p == root) return true;
  }
  return false;
}

fs::path PathPolicy::resolve(const std::string& user_path, bool must_exist) const {
  if (user_path.find('\0') != std::string::npos) throw Error(Code::invalid, "path holds a NUL");
  fs::path p = user_path.empty() ? workspace_ : fs::path(user_path);
  if (p.is_relative()) p = workspace_ / p;
  std::error_code ec;
  // Resolve every symlink and "..": the check is on where the path really leads.
  fs::path real = fs::weakly_canonical(p, ec);
  if (ec) throw Error(Code::invalid, "cannot resolve " + user_path + ": " + ec.message());
  if (!inside_roots(real))
    throw Error(Code::forbidden, user_path + " is outside the allowed roots");
  if (must_exist && !fs::exists(fs::symlink_status(real, ec)))
    throw Error(Code::not_found, "no such file or directory: " + user_path);
  return real;
}

bool valid_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace moccha::files
