// MEGA's cryptography and encodings, on OpenSSL's EVP: the pure layer under the MEGA client
// (protocol: doc/protocols/mega.md; sources: megatools lib/mega.c, megajs
// lib/crypto/index.mjs, rsa.mjs). Checked by the known-answer vectors in
// tests/unit/mega_crypto_test.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moccha::mega {

using Bytes = std::string;  // raw bytes
using Key = std::array<std::uint8_t, 16>;

// MEGA's base64: URL alphabet ('-', '_'), no padding. Decoding accepts either alphabet and
// padding; nullopt on anything else.
std::string b64url(std::string_view bytes);
std::optional<Bytes> b64url_decode(std::string_view text);

// AES-128 on whole 16-byte blocks (`data.size()` a multiple of 16, else std::invalid_argument).
Bytes aes_ecb_encrypt(const Key& key, std::string_view data);
Bytes aes_ecb_decrypt(const Key& key, std::string_view data);
Bytes aes_cbc_encrypt(const Key& key, std::string_view data);  // zero IV
Bytes aes_cbc_decrypt(const Key& key, std::string_view data);  // zero IV
// AES-128-CTR from byte `offset` of a file: IV = nonce (8 bytes) || block counter (big endian).
Bytes aes_ctr(const Key& key, const std::array<std::uint8_t, 8>& nonce, std::uint64_t offset,
              std::string_view data);

Key key_from(std::string_view sixteen_bytes);

// A v1 account's password key ("prepare_key": 65536 rounds of AES-ECB keyed by the password's
// 16-byte blocks over a fixed start value), and the user hash sent with the email.
Key prepare_key_v1(std::string_view password);
std::string user_hash_v1(std::string_view email_lowercase, const Key& password_key);
// A v2 account's: PBKDF2-HMAC-SHA512(password, salt, 100000) -> key (bytes 0-15) and user
// hash (base64url of bytes 16-31).
std::pair<Key, std::string> derive_v2(std::string_view password, std::string_view salt);

// The upload chunks of a file of `size` bytes: (offset, length), 128 KiB x i for i = 1..8, then
// 1 MiB each.
std::vector<std::pair<std::uint64_t, std::uint64_t>> chunks(std::uint64_t size);

// A file key: 32 bytes, the AES key XOR-ed with nonce and meta-MAC (pack_node_key).
struct FileKey {
  Key aes;
  std::array<std::uint8_t, 8> nonce;
  std::array<std::uint8_t, 8> meta_mac;
  Bytes packed() const;                                          // the 32 bytes
  static std::optional<FileKey> unpack(std::string_view bytes);  // nullopt unless 32 bytes
};

// The MAC of a file's plaintext, chunk by chunk in order (each chunk whole, as chunks() cuts
// them): CBC-MAC per chunk with IV nonce||nonce, chained into the meta-MAC, condensed to 8.
class FileMac {
 public:
  FileMac(const Key& key, const std::array<std::uint8_t, 8>& nonce);
  void add_chunk(std::string_view plaintext);
  std::array<std::uint8_t, 8> meta_mac() const;

 private:
  Key key_;
  std::array<std::uint8_t, 8> nonce_;
  std::array<std::uint8_t, 16> meta_{};
};

// Node attributes: "MEGA" + JSON, zero-padded, AES-CBC under the node's key, base64url.
std::string encrypt_attributes(const nlohmann::json& attributes, const Key& key);
std::optional<nlohmann::json> decrypt_attributes(std::string_view b64, const Key& key);

// Hashcash (HTTP 402 with X-Hashcash: 1:<easiness>:<time>:<token>): the X-Hashcash header to
// resend with ("1:<token>:<prefix b64url>"), or nullopt when the challenge is malformed.
std::optional<std::string> solve_hashcash(std::string_view challenge);

// The session id of a login: `csid` (base64url of an MPI: 2-byte bit count, big-endian bytes)
// decrypted by the account's RSA key, `privk` decrypted (MPIs p, q, d, u); the first 43 bytes
// of the plaintext, base64url. nullopt when either does not parse.
std::optional<std::string> decrypt_session_id(std::string_view privk, std::string_view csid);

// `n` bytes from OpenSSL's CSPRNG (keys, nonces).
Bytes random_bytes(std::size_t n);

}  // namespace moccha::mega
