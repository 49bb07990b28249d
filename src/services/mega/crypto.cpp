#include "services/mega/crypto.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>
#include <stdexcept>

namespace moccha::mega {

namespace {

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

Ctx cipher(const EVP_CIPHER* type, const Key& key, const unsigned char* iv, bool encrypt) {
  Ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx || EVP_CipherInit_ex(ctx.get(), type, nullptr, key.data(), iv, encrypt ? 1 : 0) != 1)
    throw std::runtime_error("OpenSSL: cannot set up AES");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  return ctx;
}

Bytes run(EVP_CIPHER_CTX* ctx, std::string_view data) {
  Bytes out(data.size(), '\0');
  int n = 0;
  if (EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       static_cast<int>(data.size())) != 1)
    throw std::runtime_error("OpenSSL: AES failed");
  return out;
}

void whole_blocks(std::string_view data) {
  if (data.size() % 16) throw std::invalid_argument("AES data is not whole 16-byte blocks");
}

Bytes zero_padded(std::string_view data) {
  Bytes out(data);
  out.resize((out.size() + 15) / 16 * 16, '\0');
  if (out.empty()) out.assign(16, '\0');
  return out;
}

}  // namespace

std::string b64url(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<Bytes> b64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-' || c == '+' ? 62
            : c == '_' || c == '/' ? 63
                                   : -1;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone character cannot end a base64 text
  return out;
}

Key key_from(std::string_view b) {
  if (b.size() != 16) throw std::invalid_argument("an AES-128 key is 16 bytes");
  Key k;
  std::memcpy(k.data(), b.data(), 16);
  return k;
}

Bytes aes_ecb_encrypt(const Key& key, std::string_view data) {
  whole_blocks(data);
  return run(cipher(EVP_aes_128_ecb(), key, nullptr, true).get(), data);
}
Bytes aes_ecb_decrypt(const Key& key, std::string_view data) {
  whole_blocks(data);
  return run(cipher(EVP_aes_128_ecb(), key, nullptr, false).get(), data);
}
Bytes aes_cbc_encrypt(const Key& key, std::string_view data) {
  whole_blocks(data);
  unsigned char iv[16] = {};
  return run(cipher(EVP_aes_128_cbc(), key, iv, true).get(), data);
}
Bytes aes_cbc_decrypt(const Key& key, std::string_view data) {
  whole_blocks(data);
  unsigned char iv[16] = {};
  return run(cipher(EVP_aes_128_cbc(), key, iv, false).get(), data);
}

Bytes aes_ctr(const Key& key, const std::array<std::uint8_t, 8>& nonce, std::uint64_t offset,
              std::string_view data) {
  unsigned char iv[16];
  std::memcpy(iv, nonce.data(), 8);
  std::uint64_t block = offset / 16;
  for (int i = 0; i < 8; ++i) iv[8 + i] = static_cast<unsigned char>(block >> (56 - 8 * i));
  auto ctx = cipher(EVP_aes_128_ctr(), key, iv, true);
  // Mid-block: the keystream's first bytes belong to the data before `offset`.
  std::size_t skip = offset % 16;
  Bytes padded(skip, '\0');
  padded.append(data);
  return run(ctx.get(), padded).substr(skip);
}

Key prepare_key_v1(std::string_view password) {
  static const unsigned char kStart[16] = {0x93, 0xC4, 0x67, 0xE3, 0x7D, 0xB0, 0xC7, 0xA4,
                                           0xD1, 0xBE, 0x3F, 0x81, 0x01, 0x52, 0xCB, 0x56};
  Bytes padded = zero_padded(password);
  std::vector<Ctx> keys;
  for (std::size_t i = 0; i < padded.size(); i += 16)
    keys.push_back(
        cipher(EVP_aes_128_ecb(), key_from(std::string_view(padded).substr(i, 16)), nullptr, true));
  unsigned char value[16];
  std::memcpy(value, kStart, 16);
  for (int round = 0; round < 65536; ++round) {
    for (auto& k : keys) {
      int n = 0;
      EVP_CipherUpdate(k.get(), value, &n, value, 16);
    }
  }
  Key out;
  std::memcpy(out.data(), value, 16);
  return out;
}

std::string user_hash_v1(std::string_view email, const Key& password_key) {
  unsigned char h[16] = {};
  for (std::size_t i = 0; i < email.size(); ++i) h[i % 16] ^= static_cast<unsigned char>(email[i]);
  auto ctx = cipher(EVP_aes_128_ecb(), password_key, nullptr, true);
  for (int round = 0; round < 16384; ++round) {
    int n = 0;
    EVP_CipherUpdate(ctx.get(), h, &n, h, 16);
  }
  Bytes out(reinterpret_cast<char*>(h), 4);
  out.append(reinterpret_cast<char*>(h) + 8, 4);
  return b64url(out);
}

std::pair<Key, std::string> derive_v2(std::string_view password, std::string_view salt) {
  unsigned char out[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), 100000, EVP_sha512(), 32, out) != 1)
    throw std::runtime_error("OpenSSL: PBKDF2 failed");
  Key k;
  std::memcpy(k.data(), out, 16);
  return {k, b64url(std::string_view(reinterpret_cast<char*>(out) + 16, 16))};
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks(std::uint64_t size) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  std::uint64_t at = 0;
  for (std::uint64_t i = 1; at < size; ++i) {
    std::uint64_t len = std::min<std::uint64_t>(i <= 8 ? i * 131072 : 1048576, size - at);
    out.emplace_back(at, len);
    at += len;
  }
  return out;
}

Bytes FileKey::packed() const {
  Bytes out(32, '\0');
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<char>(aes[i] ^ nonce[i]);
    out[8 + i] = static_cast<char>(aes[8 + i] ^ meta_mac[i]);
    out[16 + i] = static_cast<char>(nonce[i]);
    out[24 + i] = static_cast<char>(meta_mac[i]);
  }
  return out;
}

std::optional<FileKey> FileKey::unpack(std::string_view b) {
  if (b.size() != 32) return std::nullopt;
  FileKey k;
  for (int i = 0; i < 8; ++i) {
    k.nonce[i] = static_cast<std::uint8_t>(b[16 + i]);
    k.meta_mac[i] = static_cast<std::uint8_t>(b[24 + i]);
    k.aes[i] = static_cast<std::uint8_t>(b[i]) ^ k.nonce[i];
    k.aes[8 + i] = static_cast<std::uint8_t>(b[8 + i]) ^ k.meta_mac[i];
  }
  return k;
}

FileMac::FileMac(const Key& key, const std::array<std::uint8_t, 8>& nonce)
    : key_(key), nonce_(nonce) {}

void FileMac::add_chunk(std::string_view plaintext) {
  // CBC-MAC of the chunk (zero-padded to whole blocks) with IV nonce||nonce.
  unsigned char mac[16];
  std::memcpy(mac, nonce_.data(), 8);
  std::memcpy(mac + 8, nonce_.data(), 8);
  auto ctx = cipher(EVP_aes_128_ecb(), key_, nullptr, true);
  for (std::size_t i = 0; i < plaintext.size(); i += 16) {
    std::size_t n = std::min<std::size_t>(16, plaintext.size() - i);
    for (std::size_t j = 0; j < n; ++j) mac[j] ^= static_cast<unsigned char>(plaintext[i + j]);
    int out = 0;
    EVP_CipherUpdate(ctx.get(), mac, &out, mac, 16);
  }
  // The meta-MAC chains the chunk MACs: XOR, then one ECB block.
  for (int j = 0; j < 16; ++j) meta_[j] ^= mac[j];
  int out = 0;
  EVP_CipherUpdate(ctx.get(), meta_.data(), &out, meta_.data(), 16);
}

std::array<std::uint8_t, 8> FileMac::meta_mac() const {
  std::array<std::uint8_t, 8> m;
  for (int i = 0; i < 4; ++i) {
    m[i] = meta_[i] ^ meta_[4 + i];
    m[4 + i] = meta_[8 + i] ^ meta_[12 + i];
  }
  return m;
}

std::string encrypt_attributes(const nlohmann::json& attributes, const Key& key) {
  return b64url(aes_cbc_encrypt(key, zero_padded("MEGA" + attributes.dump())));
}

std::optional<nlohmann::json> decrypt_attributes(std::string_view b64, const Key& key) {
  auto raw = b64url_decode(b64);
  if (!raw || raw->empty() || raw->size() % 16) return std::nullopt;
  Bytes plain = aes_cbc_decrypt(key, *raw);
  if (plain.rfind("MEGA{", 0) != 0) return std::nullopt;
  plain.erase(plain.find_last_not_of('\0') + 1);
  auto j = nlohmann::json::parse(plain.substr(4), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::optional<std::string> solve_hashcash(std::string_view challenge) {
  // "1:<easiness>:<time>:<token>" (megajs lib/crypto/index.mjs generateHashcashToken).
  std::vector<std::string_view> parts;
  for (std::size_t at = 0;;) {
    auto colon = challenge.find(':', at);
    parts.push_back(challenge.substr(at, colon - at));
    if (colon == std::string_view::npos) break;
    at = colon + 1;
  }
  if (parts.size() != 4 || parts[0] != "1") return std::nullopt;
  int easiness = 0;
  for (char c : parts[1]) {
    if (c < '0' || c > '9' || easiness > 255) return std::nullopt;
    easiness = easiness * 10 + (c - '0');
  }
  if (parts[1].empty() || easiness > 255) return std::nullopt;
  auto token = b64url_decode(parts[3]);
  if (!token || token->size() != 48) return std::nullopt;
  std::uint64_t threshold = static_cast<std::uint64_t>(((easiness & 63) << 1) + 1)
                            << ((easiness >> 6) * 7 + 3);
  constexpr std::size_t kRepeats = 262144;
  Bytes buffer(4 + kRepeats * 48, '\0');
  for (std::size_t i = 0; i < kRepeats; ++i) std::memcpy(&buffer[4 + i * 48], token->data(), 48);
  auto* prefix = reinterpret_cast<unsigned char*>(buffer.data());
  for (std::uint64_t tries = 0; tries < (1ull << 32); ++tries) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(prefix, buffer.size(), digest);
    std::uint32_t head = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                         (std::uint32_t{digest[2]} << 8) | digest[3];
    if (head <= threshold) return "1:" + std::string(parts[3]) + ":" + b64url(buffer.substr(0, 4));
    for (int j = 0; j < 4 && ++prefix[j] == 0; ++j) {
    }
  }
  return std::nullopt;
}

namespace {

using Bignum = std::unique_ptr<BIGNUM, decltype(&BN_clear_free)>;

// The MPI at `at` in `data`: a 16-bit big-endian bit count, then that many bits' bytes.
Bignum read_mpi(std::string_view data, std::size_t& at) {
  Bignum none(nullptr, BN_clear_free);
  if (at + 2 > data.size()) return none;
  std::size_t bits =
      (static_cast<unsigned char>(data[at]) << 8) | static_cast<unsigned char>(data[at + 1]);
  std::size_t bytes = (bits + 7) / 8;
  if (at + 2 + bytes > data.size()) return none;
  Bignum n(BN_bin2bn(reinterpret_cast<const unsigned char*>(data.data() + at + 2),
                     static_cast<int>(bytes), nullptr),
           BN_clear_free);
  at += 2 + bytes;
  return n;
}

}  // namespace

std::optional<std::string> decrypt_session_id(std::string_view privk, std::string_view csid) {
  std::size_t at = 0;
  Bignum p = read_mpi(privk, at), q = read_mpi(privk, at), d = read_mpi(privk, at);
  auto cipher_text = b64url_decode(csid);
  if (!p || !q || !d || !cipher_text) return std::nullopt;
  std::size_t c_at = 0;
  Bignum c = read_mpi(*cipher_text, c_at);
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
  Bignum n(BN_new(), BN_clear_free), m(BN_new(), BN_clear_free);
  if (!c || !ctx || !n || !m || !BN_mul(n.get(), p.get(), q.get(), ctx.get()) ||
      BN_cmp(c.get(), n.get()) >= 0 || !BN_mod_exp(m.get(), c.get(), d.get(), n.get(), ctx.get()))
    return std::nullopt;
  Bytes plain(static_cast<std::size_t>(BN_num_bytes(m.get())), '\0');
  BN_bn2bin(m.get(), reinterpret_cast<unsigned char*>(plain.data()));
  if (plain.size() < 43) return std::nullopt;
  return b64url(std::string_view(plain).substr(0, 43));
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL: no random bytes");
  return out;
}

}  // namespace moccha::mega
