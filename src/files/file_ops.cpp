#include "files/file_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/hex.h"

namespace moccha::files {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  fail_errno(errno, what);
}

std::string type_of(mode_t mode) {
  return S_ISDIR(mode) ? "dir" : S_ISLNK(mode) ? "link" : S_ISREG(mode) ? "file" : "other";
}

// Removes `name` in `dirfd` and, for a directory, all it holds, never following a symlink.
void remove_tree(int dirfd, const std::string& name, const std::string& shown) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {  // a file, or a symlink: remove it itself
      if (::unlinkat(dirfd, name.c_str(), 0) != 0) fail("remove " + shown);
      return;
    }
    fail("remove " + shown);
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    fail("remove " + shown);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  for (const auto& n : names) {
    struct stat st {};
    if (::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      remove_tree(::dirfd(d), n, shown + "/" + n);
    } else if (::unlinkat(::dirfd(d), n.c_str(), 0) != 0 && errno != ENOENT) {
      int e = errno;
      ::closedir(d);
      fail_errno(e, "remove " + shown + "/" + n);
    }
  }
  ::closedir(d);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) fail("remove " + shown);
}

}  // namespace

std::vector<Entry> list_dir(const PathPolicy& policy, const fs::path& dir) {
  UniqueFd fd = policy.open(dir, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  struct stat dst {};
  if (::fstat(fd.get(), &dst) != 0) fail("stat " + dir.string());
  if (!S_ISDIR(dst.st_mode)) throw Error(Code::invalid, dir.string() + " is not a directory");
  DIR* d = ::fdopendir(fd.get());
  if (!d) fail("read " + dir.string());
  fd.release();  // the DIR owns it now
  std::vector<Entry> out;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    out.push_back({e->d_name, type_of(st.st_mode), static_cast<std::uint64_t>(st.st_size),
                   st.st_mtim.tv_sec});
  }
  int err = errno;
  ::closedir(d);
  if (err) fail_errno(err, "read " + dir.string());
  return out;
}

void remove_path(const PathPolicy& policy, const fs::path& p, bool recursive) {
  std::string name;
  UniqueFd parent = policy.open_parent(p, name);
  struct stat st {};
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    fail("remove " + p.string());
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0) fail("remove " + p.string());
    return;
  }
  if (recursive) return remove_tree(parent.get(), name, p.string());
  if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST)
      throw Error(Code::exists,
                  p.string() + " is a directory that is not empty: pass recursive=true");
    fail("remove " + p.string());
  }
}

void make_dirs(const PathPolicy& policy, const fs::path& dir) {
  try {
    policy.open(dir, O_PATH | O_DIRECTORY);
    return;
  } catch (const Error& e) {
    if (e.code != Code::not_found) throw;
  }
  make_dirs(policy, dir.parent_path());
  std::string name;
  UniqueFd parent = policy.open_parent(dir, name);
  if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    fail("mkdir " + dir.string());
  policy.open(dir, O_PATH | O_DIRECTORY);  // what is there now must be a directory
}

void make_dir(const PathPolicy& policy, const fs::path& p, bool parents) {
  if (parents) make_dirs(policy, p.parent_path());
  std::string name;
  UniqueFd parent = policy.open_parent(p, name);
  if (::mkdirat(parent.get(), name.c_str(), 0755) != 0) {
    if (errno == EEXIST) throw Error(Code::exists, p.string() + " already exists");
    fail("mkdir " + p.string());
  }
}

void move_path(const PathPolicy& policy, const fs::path& from, const fs::path& to, bool overwrite) {
  std::string from_name, to_name;
  UniqueFd src = policy.open_parent(from, from_name);
  UniqueFd dst = policy.open_parent(to, to_name);
  unsigned flags = overwrite ? 0 : RENAME_NOREPLACE;
  if (::renameat2(src.get(), from_name.c_str(), dst.get(), to_name.c_str(), flags) != 0) {
    if (errno == EEXIST) throw Error(Code::exists, to.string() + " exists: pass overwrite=true");
    if (errno == EXDEV) throw Error(Code::invalid, "cannot move across filesystems");
    fail("move " + from.string() + " to " + to.string());
  }
}

AtomicWriter::AtomicWriter(const PathPolicy& policy, const fs::path& final_path,
                           const fs::path& temp_dir, bool overwrite)
    : final_(final_path), overwrite_(overwrite) {
  dir_ = policy.open_parent(final_, name_);
  struct stat dst {
  }, tmp{};
  temp_dir_ = UniqueFd(::open(temp_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  bool same_fs = temp_dir_ && ::fstat(dir_.get(), &dst) == 0 &&
                 ::fstat(temp_dir_.get(), &tmp) == 0 && dst.st_dev == tmp.st_dev;
  if (!same_fs) temp_dir_ = UniqueFd(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0));
  temp_name_ = ".moccha-upload-" + random_hex(8);
  fd_ = ::openat(temp_dir_.get(), temp_name_.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("create a temporary file for " + final_.string());
}

AtomicWriter::~AtomicWriter() {
  if (state_ == State::committed || state_ == State::replaced) {
    try {
      rollback();
    } catch (...) {
    }
  }
  abort();
}

void AtomicWriter::write(const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write " + final_.string());
    data += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
}

void AtomicWriter::close() {
  if (state_ != State::writing) return;
  int rc = ::close(fd_);
  fd_ = -1;
  state_ = State::closed;
  if (rc != 0) fail("write " + final_.string());
}

std::uint64_t AtomicWriter::commit() {
  close();
  struct stat st {};
  bool exists = ::fstatat(dir_.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && S_ISDIR(st.st_mode))
    throw Error(Code::exists, final_.filename().string() + ": a directory has that name");
  if (exists && !overwrite_)
    throw Error(Code::exists, final_.filename().string() + " already exists");
  if (exists) {
    // Swapped, not replaced: what was there waits under the temporary name until finalize()
    // or rollback().
    if (::renameat2(temp_dir_.get(), temp_name_.c_str(), dir_.get(), name_.c_str(),
                    RENAME_EXCHANGE) == 0) {
      state_ = State::replaced;
      return size_;
    }
    if (errno != ENOENT) fail("rename into " + final_.string());
  }
  if (::renameat2(temp_dir_.get(), temp_name_.c_str(), dir_.get(), name_.c_str(),
                  RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) throw Error(Code::exists, final_.filename().string() + " already exists");
    fail("rename into " + final_.string());
  }
  state_ = State::committed;
  return size_;
}

void AtomicWriter::finalize() {
  if (state_ == State::replaced) ::unlinkat(temp_dir_.get(), temp_name_.c_str(), 0);
  if (state_ == State::committed || state_ == State::replaced) state_ = State::done;
}

void AtomicWriter::rollback() {
  if (state_ == State::replaced) {
    ::renameat2(temp_dir_.get(), temp_name_.c_str(), dir_.get(), name_.c_str(), RENAME_EXCHANGE);
    ::unlinkat(temp_dir_.get(), temp_name_.c_str(), 0);
  } else if (state_ == State::committed) {
    ::unlinkat(dir_.get(), name_.c_str(), 0);
  }
  state_ = State::done;
}

void AtomicWriter::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (state_ == State::writing || state_ == State::closed)
    ::unlinkat(temp_dir_.get(), temp_name_.c_str(), 0);
  state_ = State::done;
}

void commit_all(std::vector<std::unique_ptr<AtomicWriter>>& writers) {
  std::size_t i = 0;
  try {
    for (; i < writers.size(); ++i) writers[i]->commit();
  } catch (...) {
    while (i-- > 0) writers[i]->rollback();
    throw;
  }
  for (auto& w : writers) w->finalize();
}

void sweep_temp_dir(const fs::path& temp_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(temp_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with(".moccha-upload-")) fs::remove(it->path(), ec);
}

}  // namespace moccha::files
