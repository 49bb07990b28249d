#include "files/paths.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/errors.h"

namespace moccha::files {

namespace fs = std::filesystem;

PathPolicy::PathPolicy(std::string workspace, const std::vector<std::string>& roots) {
  std::error_code ec;
  workspace_ = fs::weakly_canonical(workspace, ec);
  if (ec) workspace_ = workspace;
  for (const auto& r : roots) {
    fs::path c = fs::weakly_canonical(r, ec);
    std::string root = (ec ? fs::path(r) : c).string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();  // compared as strings
    roots_.push_back(root);
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

namespace {

// `p` relative to `root` when it lies inside it (both absolute and canonical: compared as
// strings, not component by component, which costs a path object per component); nullopt when
// it does not. "" when it is the root itself.
std::optional<std::string_view> inside(const std::string& p, const std::string& root) {
  if (root == "/") return std::string_view(p).substr(1);
  if (!p.starts_with(root)) return std::nullopt;
  if (p.size() == root.size()) return std::string_view();
  if (p[root.size()] != '/') return std::nullopt;
  return std::string_view(p).substr(root.size() + 1);
}

}  // namespace

const fs::path* PathPolicy::root_of(const fs::path& p) const {
  const fs::path* best = nullptr;
  for (const auto& root : roots_)
    if (inside(p.native(), root.native()) &&
        (!best || root.native().size() > best->native().size()))
      best = &root;
  return best;
}

namespace {

// `real` (a path inside `root`) opened from `root` with no symlink followed, from the kernel's
// caches only when `cached`. -1 with errno set on failure.
int open_from(const fs::path& root, const std::string& real, int flags, mode_t mode, bool cached) {
  UniqueFd rootfd(cached ? open_cached(AT_FDCWD, root.native(), O_PATH | O_DIRECTORY)
                         : ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return -1;
  std::string rel(*inside(real, root.native()));
  return cached ? open_cached(rootfd.get(), rel, flags)
                : open_beneath(rootfd.get(), rel, flags, mode);
}

}  // namespace

UniqueFd PathPolicy::open(const fs::path& real, int flags, mode_t mode) const {
  const fs::path* root = root_of(real);
  if (!root) throw Error(Code::forbidden, real.string() + " is outside the allowed roots");
  UniqueFd fd(open_from(*root, real.native(), flags, mode, false));
  if (!fd) fail_errno(errno, "open " + real.string());
  return fd;
}

namespace {

// `p` (absolute) with "." components and repeated slashes dropped; nullopt if it has "..",
// whose meaning depends on the symlinks before it.
std::optional<std::string> simple_form(const std::string& p) {
  std::string out;
  out.reserve(p.size());
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    std::size_t end = p.find('/', i);
    if (end == std::string::npos) end = p.size();
    std::string_view part(p.data() + i, end - i);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    i = end;
  }
  return out.empty() ? std::string("/") : out;
}

}  // namespace

std::optional<PathPolicy::Opened> PathPolicy::open_simple(const std::string& user_path, int flags,
                                                          bool cached) const {
  if (user_path.find('\0') != std::string::npos) throw Error(Code::invalid, "path holds a NUL");
  errno = 0;
  std::string absolute = user_path.empty()          ? workspace_.string()
                         : user_path.front() == '/' ? user_path
                                                    : workspace_.string() + "/" + user_path;
  auto simple = simple_form(absolute);
  if (!simple) return std::nullopt;
  const fs::path* root = root_of(*simple);
  if (!root) return std::nullopt;
  UniqueFd fd(open_from(*root, *simple, flags, 0, cached));
  if (!fd) return std::nullopt;
  return Opened{fs::path(std::move(*simple)), std::move(fd)};
}

PathPolicy::Opened PathPolicy::resolve_and_open(const std::string& user_path, int flags) const {
  if (auto opened = open_simple(user_path, flags, false)) return std::move(*opened);
  if (errno == ENOENT) throw Error(Code::not_found, "no such file or directory: " + user_path);
  // A symlink on the way (or "..", or outside the roots as written): resolve, check, open.
  fs::path real = resolve(user_path);
  UniqueFd fd = open(real, flags);
  return {std::move(real), std::move(fd)};
}

std::optional<PathPolicy::Opened> PathPolicy::try_open_cached(const std::string& user_path,
                                                              int flags) const {
  return open_simple(user_path, flags, true);
}

UniqueFd PathPolicy::open_parent(const fs::path& real, std::string& name) const {
  name = real.filename().string();
  if (name.empty() || real == real.root_path())
    throw Error(Code::invalid, "no parent directory for " + real.string());
  return open(real.parent_path(), O_PATH | O_DIRECTORY);
}

bool PathPolicy::inside_roots(const fs::path& p) const {
  return root_of(p) != nullptr;
}

fs::path PathPolicy::resolve(const std::string& user_path, bool must_exist) const {
  if (user_path.find('\0') != std::string::npos) throw Error(Code::invalid, "path holds a NUL");
  fs::path p = user_path.empty() ? workspace_ : fs::path(user_path);
  if (p.is_relative()) p = workspace_ / p;
  std::error_code ec;
  // Resolve every symlink and "..": the check is on where the path really leads.
  fs::path real = fs::weakly_canonical(p, ec);
  if (ec) throw Error(Code::invalid, "cannot resolve " + user_path + ": " + ec.message());
  // "dir/" resolves to "/…/dir/": one form, without the slash, for the string comparisons.
  while (real.native().size() > 1 && real.native().back() == '/')
    real = real.native().substr(0, real.native().size() - 1);
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
