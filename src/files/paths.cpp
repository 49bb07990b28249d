#include "files/paths.h"

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
