#include "core/capped_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace moccha {

CappedOutput::CappedOutput(std::size_t cap, std::filesystem::path spill, std::uint64_t spill_limit)
    : cap_(cap), path_(std::move(spill)), limit_(spill_limit) {}

CappedOutput::~CappedOutput() {
  close();
}

void CappedOutput::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  failed_ = true;  // nothing more goes to the file
}

void CappedOutput::write(std::string_view data) {
  std::uint64_t room = limit_ > spilled_ ? limit_ - spilled_ : 0;
  if (data.size() > room) {
    data = data.substr(0, room);
    error_ = "the output passed the spill limit of " + std::to_string(limit_) + " bytes";
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = "cannot write " + path_.string() + ": " + std::strerror(errno);
      close();
      return;
    }
    spilled_ += static_cast<std::uint64_t>(n);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string_view CappedOutput::append(std::string_view data) {
  total_ += data.size();
  std::size_t room = full_ || text_.size() >= cap_ ? 0 : cap_ - text_.size();
  std::size_t kept = std::min(room, data.size());
  if (kept < data.size()) {
    // Cut between characters, never inside one: the text stays valid UTF-8 if the output is.
    for (std::size_t back = 0; back < 3 && kept > 0 && (data[kept] & 0xC0) == 0x80; ++back) --kept;
    full_ = true;
  }
  std::size_t before = text_.size();
  text_.append(data.data(), kept);
  kept_ += kept;
  bool past_cap = total_ > kept_;
  if (past_cap && fd_ < 0 && !failed_ && !path_.empty() && limit_ > 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      error_ = "cannot create " + path_.string() + ": " + std::strerror(errno);
      failed_ = true;
    } else {
      write(std::string_view(text_).substr(0, before));  // what memory held before this piece
      if (fd_ >= 0) write(data);
      return std::string_view(text_).substr(before);
    }
  } else if (fd_ >= 0) {
    write(data);
  }
  return std::string_view(text_).substr(before);
}

}  // namespace moccha
