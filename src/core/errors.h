// Errors that mean the same thing whichever component meets them.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace moccha {

// The disk (or a quota) is full: a write a request needed could not be made. The API answers
// 507 Insufficient Storage and the agent goes on.
class DiskFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws DiskFull when `err` is ENOSPC or EDQUOT; returns otherwise.
inline void throw_if_disk_full(int err, const std::string& what) {
  if (err == ENOSPC || err == EDQUOT) throw DiskFull(what + ": no space left on the device");
}

}  // namespace moccha
