#include "services/jdownloader/cnl.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <regex>

namespace moccha::cnl {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// "scheme:rest" with no control character or space: what a link looks like. Garbage from a
// wrong key fails this.
bool looks_like_link(const std::string& s) {
  static const std::regex link(R"(^[A-Za-z][A-Za-z0-9+.-]{0,31}:[^\x00-\x20\x7f]+$)");
  return s.size() <= 8192 && std::regex_match(s, link);
}

std::vector<std::string> lines(std::string_view text, bool spaces_too) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of(spaces_too ? "\r\n \t" : "\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string line = trim(text.substr(pos, end - pos));
    if (looks_like_link(line)) out.push_back(std::move(line));
    pos = end + 1;
  }
  return out;
}

}  // namespace

std::string key_from_hex(std::string_view hex) {
  std::string h = trim(hex);
  if (h.size() != 32) throw Error("the key must be 32 hex digits");
  std::string key;
  for (std::size_t i = 0; i < 32; i += 2) {
    int a = hex_value(h[i]), b = hex_value(h[i + 1]);
    if (a < 0 || b < 0) throw Error("the key must be 32 hex digits");
    key.push_back(static_cast<char>(a * 16 + b));
  }
  return key;
}

std::string key_from_jk(std::string_view jk) {
  if (jk.size() > 1024) throw Error("the key function is too long");
  // function f(){ return '31323334353637383930616263646566';} with any spacing, either quote,
  // an optional semicolon: nothing else is taken, and nothing is ever evaluated.
  static const std::regex standard(
      R"(^\s*function\s+f\s*\(\s*\)\s*\{\s*return\s*(['"])([0-9A-Fa-f]{32})\1\s*;?\s*\}\s*;?\s*$)");
  std::cmatch m;
  if (!std::regex_match(jk.data(), jk.data() + jk.size(), m, standard))
    throw Error("the key function is not the standard Click'n'Load form (it is never run)");
  return key_from_hex(m[2].str());
}

std::vector<std::string> decrypt_links(std::string_view crypted, const std::string& key) {
  if (key.size() != 16) throw Error("the key must be 16 bytes");
  std::string b64;
  for (char c : crypted)
    if (c == ' ')
      b64 += '+';  // form encoding turned '+' into ' '
    else if (c != '\r' && c != '\n')
      b64 += c;
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > (16u << 20))
    throw Error("'crypted' is not base64");
  std::string raw(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  if (n < 0) throw Error("'crypted' is not base64");
  // EVP_DecodeBlock counts the bytes '=' padding stands for: take them off.
  std::size_t pad = b64.size() - b64.find_last_not_of('=') - 1;
  if (pad > 2) throw Error("'crypted' is not base64");
  raw.resize(static_cast<std::size_t>(n) - pad);
  if (raw.empty() || raw.size() % 16 != 0)
    throw Error("'crypted' is not a whole number of AES blocks");
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  std::string plain(raw.size(), '\0');
  int out = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, k, k) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &out,
                        reinterpret_cast<const unsigned char*>(raw.data()),
                        static_cast<int>(raw.size())) != 1)
    throw Error("the payload cannot be decrypted");
  plain.resize(static_cast<std::size_t>(out));
  // Zero padding (JD trims it); a page that used PKCS#7 leaves bytes < 16 at the end.
  while (!plain.empty() && (plain.back() == '\0' || static_cast<unsigned char>(plain.back()) <= 16))
    plain.pop_back();
  auto links = lines(plain, false);
  if (links.empty()) throw Error("the payload holds no links (a wrong key?)");
  return links;
}

std::vector<std::string> split_links(std::string_view urls) {
  return lines(urls, true);
}

Package read_form(const std::map<std::string, std::string>& form, bool crypted) {
  auto field = [&](const char* k) {
    auto it = form.find(k);
    return it == form.end() ? std::string() : it->second;
  };
  Package p;
  p.name = field("package");
  if (p.name.empty()) p.name = field("source");
  p.passwords = field("passwords");
  if (crypted) {
    if (field("crypted").empty()) throw Error("'crypted' is missing");
    std::string key;
    if (!field("jk").empty())
      key = key_from_jk(field("jk"));
    else if (!field("k").empty())
      key = key_from_hex(field("k"));
    else
      throw Error("'jk' (or 'k') is missing");
    p.links = decrypt_links(field("crypted"), key);
  } else {
    p.links = split_links(field("urls"));
    if (p.links.empty()) throw Error("'urls' holds no links");
  }
  if (p.links.size() > 1000) throw Error("more than 1000 links in one package");
  return p;
}

}  // namespace moccha::cnl
