#include "files/tar.h"

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

TarStream::TarStream(const fs::path& dir) {
  fs::path base = dir.filename().empty() ? dir.parent_path().filename() : dir.filename();
  auto add = [&](const fs::path& p, const std::string& name) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    Item item{p, name, '0', 0, st.st_mtim.tv_sec, static_cast<unsigned>(st.st_mode & 07777), {}};
    if (S_ISDIR(st.st_mode)) {
      item.type = '5';
      item.name += '/';
    } else if (S_ISLNK(st.st_mode)) {
      item.type = '2';
      std::error_code ec;
      item.link = fs::read_symlink(p, ec).string();
    } else if (S_ISREG(st.st_mode)) {
      item.size = static_cast<std::uint64_t>(st.st_size);
    } else {
      return;  // devices, sockets, fifos: not archived
    }
    items_.push_back(std::move(item));
  };
  add(dir, base.string());
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    add(it->path(), (base / it->path().lexically_relative(dir)).string());
  }
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
        // Not followed if it became a symlink, and never blocking if it became a FIFO: such a
        // file is sent as zeros of its walked size, like one that vanished.
        fd_ = ::open(item.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
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
