#include "core/hex.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace moccha {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string random_hex(std::size_t n) {
  std::string bytes(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<std::size_t>(r);
  }
  return to_hex(bytes);
}

std::string percent_encode(std::string_view text, std::string_view keep) {
  static constexpr char digits[] = "0123456789ABCDEF";
  static constexpr std::string_view unreserved = "-._~";
  std::string out;
  for (unsigned char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 (c != 0 && (unreserved.find(static_cast<char>(c)) != std::string_view::npos ||
                             keep.find(static_cast<char>(c)) != std::string_view::npos));
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

}  // namespace moccha
