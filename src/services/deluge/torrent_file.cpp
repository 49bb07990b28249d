#include "services/deluge/torrent_file.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
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
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    error = ec.message();
    return std::nullopt;
  }
  if (size > kMaxTorrentFileBytes) {
    error = std::to_string(size) + " bytes, too large for a torrent file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size)) && !in.eof()) {
    error = "cannot read it";
    return std::nullopt;
  }
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

}  // namespace moccha::deluge
