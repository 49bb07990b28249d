#include "files/tar.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace moccha::files {

namespace fs = std::filesystem;

namespace {

// An octal field of `width` bytes (NUL-terminated); base-256 when it does not fit.
void put_number(char* field, std::size_t width, std::uint64_t value) {
  std::uint64_t max_octal = (width - 1) >= 21 ? ~0ull : (1ull << (3 * (width - 1))) - 1;
  if (value <= max_octal) {
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                  static_cast<unsigned long long>(value));
    return;
  }
  std::memset(field, 0, width);
  field[0] = static_cast<char>(0x80);
  for (std::size_t i = width - 1; i > 0 && value; --i, value >>= 8)
    field[i] = static_cast<char>(value & 0xff);
}

}  // namespace

TarStream::TarStream(const fs::path& dir, UniqueFd root) : root_(std::move(root)) {
  fs::path base = dir.filename().empty() ? dir.parent_path().filename() : dir.filename();
  struct stat st {};
  if (::fstat(root_.get(), &st) != 0) return;
  items_.push_back({"",
                    base.string() + "/",
                    '5',
                    0,
                    st.st_mtim.tv_sec,
                    static_cast<unsigned>(st.st_mode & 07777),
                    {}});
  walk(root_.get(), "", base.string());
}

// Reads the directory `dirfd` (at `rel` under the root) by descriptor, never following a
// symlink: a directory switched for a symlink during the walk is not entered.
void TarStream::walk(int dirfd, const std::string& rel, const std::string& name) {
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
    Item item{child_rel, name + "/" + n,    '0',
              0,         st.st_mtim.tv_sec, static_cast<unsigned>(st.st_mode & 07777),
              {}};
    if (S_ISDIR(st.st_mode)) {
      item.type = '5';
      item.name += '/';
      items_.push_back(std::move(item));
      int sub = ::openat(::dirfd(d), n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        walk(sub, child_rel, name + "/" + n);
        ::close(sub);
      }
    } else if (S_ISLNK(st.st_mode)) {
      item.type = '2';
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

TarStream::~TarStream() {
  if (fd_ >= 0) ::close(fd_);
}

std::string TarStream::header(const Item& item) {
  std::string out;
  auto block = [](const std::string& name, char type, std::uint64_t size, std::int64_t mtime,
                  unsigned mode, const std::string& link) {
    char h[512] = {};
    std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
    put_number(h + 100, 8, mode);
    put_number(h + 108, 8, 0);
    put_number(h + 116, 8, 0);
    put_number(h + 124, 12, size);
    put_number(h + 136, 12, static_cast<std::uint64_t>(mtime < 0 ? 0 : mtime));
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return std::string(h, 512);
  };
  auto long_entry = [&](char type, const std::string& value) {
    std::string data = value + '\0';
    out += block("././@LongLink", type, data.size(), 0, 0644, "");
    out += data;
    out.append((512 - data.size() % 512) % 512, '\0');
  };
  if (item.name.size() > 100) long_entry('L', item.name);
  if (item.link.size() > 100) long_entry('K', item.link);
  out += block(item.name, item.type, item.size, item.mtime, item.mode, item.link);
  return out;
}

std::optional<std::string> TarStream::next(std::size_t max) {
  std::string out;
  while (out.size() < max) {
    if (!pending_.empty()) {
      std::size_t n = std::min(pending_.size(), max - out.size());
      out.append(pending_, 0, n);
      pending_.erase(0, n);
      continue;
    }
    if (fd_ >= 0 || left_ > 0) {
      if (left_ == 0) {
        ::close(fd_);
        fd_ = -1;
        pending_.assign(padding_, '\0');
        continue;
      }
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left_, max - out.size()));
      std::size_t at = out.size();
      out.resize(at + want);
      ssize_t got = fd_ >= 0 ? ::read(fd_, out.data() + at, want) : 0;
      if (got <= 0) {
        // The file shrank while being archived: pad with zeros to the size the header promised.
        std::memset(out.data() + at, 0, want);
        got = static_cast<ssize_t>(want);
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
      }
      out.resize(at + static_cast<std::size_t>(got));
      left_ -= static_cast<std::uint64_t>(got);
      if (left_ == 0 && fd_ < 0) pending_.assign(padding_, '\0');
      continue;
    }
    if (index_ < items_.size()) {
      const Item& item = items_[index_++];
      if (item.type == '0') {
        // Opened beneath the archive's root with no symlink followed, and never blocking if it
        // became a FIFO: such a file is sent as zeros of its walked size, like one that vanished.
        fd_ = open_beneath(root_.get(), item.path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
        struct stat st {};
        if (fd_ >= 0 && (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))) {
          ::close(fd_);
          fd_ = -1;
        }
        left_ = item.size;
        padding_ = (512 - item.size % 512) % 512;
        if (left_ == 0 && fd_ >= 0) {
          ::close(fd_);
          fd_ = -1;
        }
      }
      pending_ = header(item);
      continue;
    }
    if (!finished_) {
      finished_ = true;
      pending_.assign(1024, '\0');
      continue;
    }
    break;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace moccha::files
