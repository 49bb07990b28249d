#include "files/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace moccha::files {

namespace fs = std::filesystem;

namespace {

// libarchive converts names through the calling thread's locale, and the agent runs in the
// C locale, where a name like "café" cannot be converted (pax then crashes on a NULL name).
// Names on disk are bytes that are UTF-8 almost always: every call into libarchive runs with
// C.UTF-8 for this thread only, and is set back after.
class Utf8Locale {
 public:
  Utf8Locale() {
    static locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
    if (utf8) previous_ = ::uselocale(utf8);
  }
  ~Utf8Locale() {
    if (previous_) ::uselocale(previous_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(0);
};

}  // namespace

std::optional<ArchiveFormat> parse_archive_format(const std::string& name) {
  if (name == "tar") return ArchiveFormat::tar;
  if (name == "tar.gz" || name == "tgz") return ArchiveFormat::tar_gz;
  if (name == "zip") return ArchiveFormat::zip;
  return std::nullopt;
}

const char* archive_extension(ArchiveFormat f) {
  switch (f) {
    case ArchiveFormat::tar:
      return ".tar";
    case ArchiveFormat::tar_gz:
      return ".tar.gz";
    case ArchiveFormat::zip:
      return ".zip";
  }
  return "";
}

const char* archive_media_type(ArchiveFormat f) {
  switch (f) {
    case ArchiveFormat::tar:
      return "application/x-tar";
    case ArchiveFormat::tar_gz:
      return "application/gzip";
    case ArchiveFormat::zip:
      return "application/zip";
  }
  return "application/octet-stream";
}

ArchiveStream::ArchiveStream(const fs::path& dir, UniqueFd root, ArchiveFormat format)
    : root_(std::move(root)) {
  Utf8Locale utf8;
  writer_ = archive_write_new();
  if (!writer_) throw std::runtime_error("libarchive: out of memory");
  int rc = ARCHIVE_OK;
  switch (format) {
    case ArchiveFormat::tar_gz:
      rc = archive_write_add_filter_gzip(writer_);
      [[fallthrough]];
    case ArchiveFormat::tar:
      // pax: names and sizes of any length, read by every tar of this century.
      if (rc == ARCHIVE_OK) rc = archive_write_set_format_pax_restricted(writer_);
      break;
    case ArchiveFormat::zip:
      // Sizes and CRCs go after each file's data (the stream cannot seek back); zip64 when big.
      rc = archive_write_set_format_zip(writer_);
      break;
  }
  // Written as produced: no blocking to 10 KiB records beyond what the format needs.
  if (rc == ARCHIVE_OK && format != ArchiveFormat::zip)
    rc = archive_write_set_bytes_in_last_block(writer_, 1);
  if (rc == ARCHIVE_OK)
    rc = archive_write_open2(writer_, this, nullptr, &ArchiveStream::collect, nullptr, nullptr);
  if (rc != ARCHIVE_OK) fail("cannot start the archive");

  fs::path base = dir.filename().empty() ? dir.parent_path().filename() : dir.filename();
  struct stat st {};
  if (::fstat(root_.get(), &st) != 0) return;
  items_.push_back({"",
                    base.string(),
                    Item::Type::dir,
                    0,
                    st.st_mtim.tv_sec,
                    static_cast<unsigned>(st.st_mode & 07777),
                    {}});
  walk(root_.get(), "", base.string());
}

// Reads the directory `dirfd` (at `rel` under the root) by descriptor, never following a
// symlink: a directory switched for a symlink during the walk is not entered.
void ArchiveStream::walk(int dirfd, const std::string& rel, const std::string& name) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!d) {
    if (fd >= 0) ::close(fd);
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  for (const auto& n : names) {
    struct stat st {};
    if (::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
    std::string child_rel = rel.empty() ? n : rel + "/" + n;
    Item item{child_rel, name + "/" + n,    Item::Type::file,
              0,         st.st_mtim.tv_sec, static_cast<unsigned>(st.st_mode & 07777),
              {}};
    if (S_ISDIR(st.st_mode)) {
      item.type = Item::Type::dir;
      items_.push_back(std::move(item));
      int sub = ::openat(::dirfd(d), n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        walk(sub, child_rel, name + "/" + n);
        ::close(sub);
      }
    } else if (S_ISLNK(st.st_mode)) {
      item.type = Item::Type::symlink;
      char target[4096];
      ssize_t len = ::readlinkat(::dirfd(d), n.c_str(), target, sizeof target);
      item.link = len > 0 ? std::string(target, static_cast<std::size_t>(len)) : std::string();
      items_.push_back(std::move(item));
    } else if (S_ISREG(st.st_mode)) {
      item.size = static_cast<std::uint64_t>(st.st_size);
      items_.push_back(std::move(item));
    }  // devices, sockets, fifos: not archived
  }
  ::closedir(d);
}

ArchiveStream::~ArchiveStream() {
  Utf8Locale utf8;
  if (fd_ >= 0) ::close(fd_);
  if (writer_) archive_write_free(writer_);  // closes it first if it is open
}

long ArchiveStream::collect(archive*, void* self, const void* data, std::size_t n) {
  static_cast<ArchiveStream*>(self)->out_.append(static_cast<const char*>(data), n);
  return static_cast<long>(n);
}

void ArchiveStream::fail(const char* what) {
  const char* why = writer_ ? archive_error_string(writer_) : nullptr;
  throw std::runtime_error(std::string(what) + ": " + (why ? why : "libarchive failed"));
}

void ArchiveStream::begin(const Item& item) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                      archive_entry_free);
  archive_entry_copy_pathname(entry.get(), item.name.c_str());
  archive_entry_set_mtime(entry.get(), item.mtime, 0);
  archive_entry_set_perm(entry.get(), item.mode);
  switch (item.type) {
    case Item::Type::dir:
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      break;
    case Item::Type::symlink:
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_copy_symlink(entry.get(), item.link.c_str());
      break;
    case Item::Type::file:
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(item.size));
      // Opened beneath the archive's root with no symlink followed, and never blocking if it
      // became a FIFO: such a file is sent as zeros of its walked size, like one that vanished.
      fd_ = open_beneath(root_.get(), item.path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
      struct stat st {};
      if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))) {
        ::close(fd_);
        fd_ = -1;
      }
      left_ = item.size;
      if (left_ == 0 && fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      break;
  }
  if (archive_write_header(writer_, entry.get()) < ARCHIVE_WARN)
    fail(("cannot archive " + item.name).c_str());
}

void ArchiveStream::copy() {
  char buf[64 << 10];
  std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left_, sizeof buf));
  ssize_t got = fd_ >= 0 ? ::read(fd_, buf, want) : 0;
  if (got <= 0) {
    // The file shrank while being archived: zeros up to the size its header promised.
    std::memset(buf, 0, want);
    got = static_cast<ssize_t>(want);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  if (archive_write_data(writer_, buf, static_cast<std::size_t>(got)) < 0)
    fail("cannot archive a file's data");
  left_ -= static_cast<std::uint64_t>(got);
  if (left_ == 0 && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

std::optional<std::string> ArchiveStream::next(std::size_t max) {
  Utf8Locale utf8;
  while (out_.size() < max && !closed_) {
    if (left_ > 0) {
      copy();
    } else if (index_ < items_.size()) {
      begin(items_[index_++]);
    } else {
      if (archive_write_close(writer_) != ARCHIVE_OK) fail("cannot end the archive");
      closed_ = true;
    }
  }
  if (out_.empty()) return std::nullopt;
  return std::exchange(out_, {});
}

}  // namespace moccha::files
