#include "services/deluge/torrent_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/hex.h"

namespace moccha::deluge {
namespace {

// Skips one bencoded value at `pos`; false if malformed. Depth-limited.
bool skip(std::string_view d, std::size_t& pos, int depth) {
  if (depth > 64 || pos >= d.size()) return false;
  char c = d[pos];
  if (c == 'i') {
    auto end = d.find('e', pos);
    if (end == std::string_view::npos) return false;
    pos = end + 1;
    return true;
  }
  if (c == 'l' || c == 'd') {
    ++pos;
    while (pos < d.size() && d[pos] != 'e') {
      if (c == 'd' && !skip(d, pos, depth + 1)) return false;  // key
      if (!skip(d, pos, depth + 1)) return false;
    }
    if (pos >= d.size()) return false;
    ++pos;
    return true;
  }
  if (std::isdigit(static_cast<unsigned char>(c))) {
    auto colon = d.find(':', pos);
    if (colon == std::string_view::npos || colon - pos > 12) return false;
    std::size_t len = 0;
    for (std::size_t i = pos; i < colon; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(d[i]))) return false;
      len = len * 10 + static_cast<std::size_t>(d[i] - '0');
    }
    if (len > d.size() - colon - 1) return false;
    pos = colon + 1 + len;
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> torrent_info_hash(std::string_view d) {
  if (d.empty() || d[0] != 'd') return std::nullopt;
  std::size_t pos = 1;
  while (pos < d.size() && d[pos] != 'e') {
    std::size_t key_start = pos;
    if (!skip(d, pos, 1)) return std::nullopt;
    std::string_view key = d.substr(key_start, pos - key_start);
    std::size_t value_start = pos;
    if (!skip(d, pos, 1)) return std::nullopt;
    if (key == "4:info" && d[value_start] == 'd') {
      unsigned char sha[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(d.data() + value_start), pos - value_start, sha);
      return to_hex(std::string_view(reinterpret_cast<char*>(sha), sizeof sha));
    }
  }
  return std::nullopt;
}

std::optional<std::string> magnet_info_hash(std::string_view uri) {
  if (!uri.starts_with("magnet:?")) return std::nullopt;
  std::string_view rest = uri.substr(8);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view param = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    constexpr std::string_view prefix = "xt=urn:btih:";
    if (!param.starts_with(prefix)) continue;
    std::string_view h = param.substr(prefix.size());
    std::string out;
    if (h.size() == 40) {
      for (char c : h) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return out;
    }
    if (h.size() == 32) {  // base32
      unsigned char bytes[20] = {};
      int bits = 0, index = 0;
      unsigned buffer = 0;
      for (char c : h) {
        char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        int v = u >= 'A' && u <= 'Z' ? u - 'A' : u >= '2' && u <= '7' ? u - '2' + 26 : -1;
        if (v < 0) return std::nullopt;
        buffer = (buffer << 5) | static_cast<unsigned>(v);
        bits += 5;
        if (bits >= 8) {
          bits -= 8;
          bytes[index++] = static_cast<unsigned char>((buffer >> bits) & 0xff);
        }
      }
      return to_hex(std::string_view(reinterpret_cast<char*>(bytes), 20));
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> read_torrent_file(const std::filesystem::path& path,
                                             std::string& error) {
  // Opened without blocking and checked on the descriptor: a FIFO (or a file swapped for one)
  // must not hold a thread in open() or read() forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> data;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > kMaxTorrentFileBytes) {
    error = std::to_string(st.st_size) + " bytes, too large for a torrent file";
  } else {
    data.emplace(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data->size()) {
      ssize_t n = ::read(fd, data->data() + got, data->size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    data->resize(got);
  }
  ::close(fd);
  return data;
}

}  // namespace moccha::deluge
