#include "files/file_ops.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.h"
#include "core/hex.h"

namespace moccha::files {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  int e = errno;
  throw_if_disk_full(e, what);
  Code code = e == ENOENT                     ? Code::not_found
              : e == EEXIST || e == ENOTEMPTY ? Code::exists
              : e == EACCES || e == EPERM     ? Code::forbidden
                                              : Code::io;
  throw Error(code, what + ": " + std::strerror(e));
}

}  // namespace

std::vector<Entry> list_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(Code::invalid, dir.string() + " is not a directory");
  std::vector<Entry> out;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail_errno("open " + dir.string());
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    Entry e;
    e.name = it->path().filename().string();
    struct stat st {};
    if (::fstatat(dfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    e.type = S_ISDIR(st.st_mode)   ? "dir"
             : S_ISLNK(st.st_mode) ? "link"
             : S_ISREG(st.st_mode) ? "file"
                                   : "other";
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.mtime_s = st.st_mtim.tv_sec;
    out.push_back(std::move(e));
  }
  ::close(dfd);
  if (ec) throw Error(Code::io, "read " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    bool ad = a.type == "dir", bd = b.type == "dir";
    return ad != bd ? ad : a.name < b.name;
  });
  return out;
}

void remove_path(const fs::path& p, bool recursive) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) fail_errno("remove " + p.string());
  if (S_ISDIR(st.st_mode)) {
    if (!recursive) {
      if (::rmdir(p.c_str()) != 0) {
        if (errno == ENOTEMPTY || errno == EEXIST)
          throw Error(Code::exists, p.string() +
                                        " is a directory that is not empty: "
                                        "pass recursive=true");
        fail_errno("remove " + p.string());
      }
      return;
    }
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) throw Error(Code::io, "remove " + p.string() + ": " + ec.message());
    return;
  }
  if (::unlink(p.c_str()) != 0) fail_errno("remove " + p.string());
}

void make_dir(const fs::path& p, bool parents) {
  std::error_code ec;
  if (fs::exists(p, ec)) throw Error(Code::exists, p.string() + " already exists");
  if (parents) {
    fs::create_directories(p, ec);
    if (ec) throw Error(Code::io, "mkdir " + p.string() + ": " + ec.message());
  } else if (::mkdir(p.c_str(), 0755) != 0) {
    fail_errno("mkdir " + p.string());
  }
}

void move_path(const fs::path& from, const fs::path& to, bool overwrite) {
  unsigned flags = overwrite ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) != 0) {
    if (errno == EEXIST) throw Error(Code::exists, to.string() + " exists: pass overwrite=true");
    if (errno == EXDEV) throw Error(Code::invalid, "cannot move across filesystems");
    fail_errno("move " + from.string() + " to " + to.string());
  }
}

AtomicWriter::AtomicWriter(const fs::path& final_path, const fs::path& temp_dir, bool overwrite)
    : final_(final_path), overwrite_(overwrite) {
  fs::path dir = final_.parent_path();
  struct stat dst {
  }, tmp{};
  bool same_fs = ::stat(dir.c_str(), &dst) == 0 && ::stat(temp_dir.c_str(), &tmp) == 0 &&
                 dst.st_dev == tmp.st_dev;
  std::string name = ".moccha-upload-" + random_hex(8);
  temp_ = (same_fs ? temp_dir : dir) / name;
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_errno("create " + temp_.string());
}

AtomicWriter::~AtomicWriter() {
  abort();
}

void AtomicWriter::write(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("write " + final_.string());
    data += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
}

std::uint64_t AtomicWriter::commit() {
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail_errno("write " + final_.string());
  }
  fd_ = -1;
  unsigned flags = overwrite_ ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, final_.c_str(), flags) != 0) {
    int e = errno;
    ::unlink(temp_.c_str());
    temp_.clear();
    errno = e;
    if (e == EEXIST) throw Error(Code::exists, final_.filename().string() + " already exists");
    fail_errno("rename into " + final_.string());
  }
  temp_.clear();
  return size_;
}

void AtomicWriter::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

void sweep_temp_dir(const fs::path& temp_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(temp_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with(".moccha-upload-")) fs::remove(it->path(), ec);
}

FileInfo stat_path(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) fail_errno("stat " + p.string());
  return FileInfo{static_cast<std::uint64_t>(st.st_size),
                  st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, S_ISDIR(st.st_mode)};
}

}  // namespace moccha::files
