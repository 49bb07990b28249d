// Known-answer vectors for MEGA's crypto (../shared/research/jd-mega.md B4: from megajs's own
// tests, megatools against a stub, and mega.py's tests, re-computed independently).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/sha.h>

#include <string>

#include "core/hex.h"
#include "services/mega/crypto.h"

namespace moccha::mega {
namespace {

std::string pattern(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>(i % 255);
  return s;
}
std::string hex_of(std::string_view b) {
  return to_hex(b);
}
std::string hex_of(const Key& k) {
  return to_hex(std::string_view(reinterpret_cast<const char*>(k.data()), 16));
}

TEST(MegaCrypto, PrepareKeyV1) {
  EXPECT_EQ(hex_of(prepare_key_v1(pattern(8))), "c4589a459956887caf0b408635c3c03b");
  EXPECT_EQ(hex_of(prepare_key_v1(pattern(10))), "59930b1c55d783ac77df4c4ff261b0f1");
  EXPECT_EQ(hex_of(prepare_key_v1(pattern(64))), "83bd84689f057f9ed9834b3ecb81d80e");
}

TEST(MegaCrypto, UserHashV1) {
  Key k = prepare_key_v1(pattern(8));
  auto raw = [&](int n) { return hex_of(*b64url_decode(user_hash_v1(pattern(n), k))); };
  EXPECT_EQ(raw(10), "9e791646c66840b5");
  EXPECT_EQ(raw(16), "6ba07aca224e84a4");
  EXPECT_EQ(raw(32), "6a1e6c5539c0ed48");
  // What megatools sends for a@b.c / pw.
  EXPECT_EQ(user_hash_v1("a@b.c", prepare_key_v1("pw")), "nNvlosE9jHI");
}

TEST(MegaCrypto, DeriveV2) {
  auto salt = b64url_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  ASSERT_TRUE(salt);
  auto [key, uh] = derive_v2("pass2", *salt);
  EXPECT_EQ(hex_of(key), "e1f12821d2f254fb317181b4672746ed");
  EXPECT_EQ(uh, "_ckZA76PvJdVmO4dcpuj3w");
}

TEST(MegaCrypto, ChunkBoundaries) {
  auto c = chunks(1000000);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> want = {
      {0, 131072}, {131072, 262144}, {393216, 393216}, {786432, 213568}};
  EXPECT_EQ(c, want);
  auto big = chunks(10000000);
  EXPECT_EQ(big[7], (std::pair<std::uint64_t, std::uint64_t>{3670016, 1048576}));  // 128 KiB x 8
  EXPECT_EQ(big[8], (std::pair<std::uint64_t, std::uint64_t>{4718592, 1048576}));  // then 1 MiB
  std::uint64_t sum = 0;
  for (auto& [at, n] : big) sum += n;
  EXPECT_EQ(sum, 10000000u);
  EXPECT_TRUE(chunks(0).empty());
}

TEST(MegaCrypto, Base64Url) {
  EXPECT_EQ(b64url(""), "");
  EXPECT_EQ(b64url("\xff\xfe"), "__4");
  EXPECT_EQ(*b64url_decode("__4"), "\xff\xfe");
  EXPECT_EQ(*b64url_decode("//4="), "\xff\xfe");  // the standard alphabet, padded
  EXPECT_FALSE(b64url_decode("a"));
  EXPECT_FALSE(b64url_decode("a$b"));
}

TEST(MegaCrypto, FileKeyPacksAndCtrRoundTripsFromAnyOffset) {
  FileKey k{key_from(pattern(16)), {1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15, 16}};
  auto back = FileKey::unpack(k.packed());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->aes, k.aes);
  EXPECT_EQ(back->nonce, k.nonce);
  EXPECT_EQ(back->meta_mac, k.meta_mac);
  std::string data = pattern(1000);
  std::string whole = aes_ctr(k.aes, k.nonce, 0, data);
  EXPECT_NE(whole, data);
  EXPECT_EQ(aes_ctr(k.aes, k.nonce, 0, whole), data);
  EXPECT_EQ(aes_ctr(k.aes, k.nonce, 37, std::string_view(data).substr(37)), whole.substr(37));
}

TEST(MegaCrypto, MetaMacDependsOnEveryByteAndTheChunking) {
  Key key = key_from(pattern(16));
  std::array<std::uint8_t, 8> nonce{1, 2, 3, 4, 5, 6, 7, 8};
  std::string data = pattern(300000);
  auto mac_of = [&](const std::string& d) {
    FileMac m(key, nonce);
    for (auto [at, n] : chunks(d.size())) m.add_chunk(std::string_view(d).substr(at, n));
    return m.meta_mac();
  };
  auto a = mac_of(data);
  EXPECT_EQ(mac_of(data), a);
  std::string tampered = data;
  tampered[299999] ^= 1;
  EXPECT_NE(mac_of(tampered), a);
}

TEST(MegaCrypto, Attributes) {
  Key key = key_from(pattern(16));
  std::string enc = encrypt_attributes({{"n", "report.pdf"}}, key);
  auto back = decrypt_attributes(enc, key);
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)["n"], "report.pdf");
  EXPECT_FALSE(decrypt_attributes(enc, key_from(pattern(17).substr(1))));  // wrong key
  EXPECT_FALSE(decrypt_attributes("not base64!", key));
}

TEST(MegaCrypto, HashcashMeetsItsOwnThreshold) {
  std::string token = b64url(pattern(48));
  // Easiness 255 is the easiest: the threshold is 127 << 24, about half of all digests.
  auto answer = solve_hashcash("1:255:1700000000:" + token);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->rfind("1:" + token + ":", 0), 0u);
  // The server's check, done here on its own: SHA-256(prefix || token x 262144) <= threshold.
  auto prefix = b64url_decode(answer->substr(answer->rfind(':') + 1));
  ASSERT_TRUE(prefix && prefix->size() == 4);
  std::string buffer = *prefix;
  for (int i = 0; i < 262144; ++i) buffer += pattern(48);
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(buffer.data()), buffer.size(), d);
  std::uint32_t head =
      (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) | d[3];
  EXPECT_LE(head, 127u << 24);
  EXPECT_FALSE(solve_hashcash("2:255:0:" + token));
  EXPECT_FALSE(solve_hashcash("1:x:0:" + token));
  EXPECT_FALSE(solve_hashcash("1:255:0:short"));
}

// An MPI as MEGA writes one: a 16-bit bit count, then the big-endian bytes.
std::string mpi(const BIGNUM* n) {
  std::string out(2 + BN_num_bytes(n), '\0');
  int bits = BN_num_bits(n);
  out[0] = static_cast<char>(bits >> 8);
  out[1] = static_cast<char>(bits & 0xff);
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(&out[2]));
  return out;
}

TEST(MegaCrypto, SessionIdIsTheFirst43BytesOfTheRsaPlaintext) {
  // A fresh 1024-bit key (p, q, d), the session's plaintext encrypted as MEGA's server does.
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM *p = BN_new(), *q = BN_new(), *n = BN_new(), *phi = BN_new(), *e = BN_new(), *d = BN_new(),
         *p1 = BN_new(), *q1 = BN_new(), *m = BN_new(), *c = BN_new();
  ASSERT_TRUE(BN_generate_prime_ex(p, 512, 0, nullptr, nullptr, nullptr));
  ASSERT_TRUE(BN_generate_prime_ex(q, 512, 0, nullptr, nullptr, nullptr));
  BN_set_word(e, 65537);
  BN_mul(n, p, q, ctx);
  BN_sub(p1, p, BN_value_one());
  BN_sub(q1, q, BN_value_one());
  BN_mul(phi, p1, q1, ctx);
  ASSERT_TRUE(BN_mod_inverse(d, e, phi, ctx));
  std::string plain = "\x01" + pattern(43) + std::string(60, '\x07');
  BN_bin2bn(reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), m);
  BN_mod_exp(c, m, e, n, ctx);
  std::string privk = mpi(p) + mpi(q) + mpi(d) + mpi(p);  // u is not needed to decrypt
  EXPECT_EQ(decrypt_session_id(privk, b64url(mpi(c))), b64url(plain.substr(0, 43)));
  EXPECT_FALSE(decrypt_session_id(privk.substr(0, 40), b64url(mpi(c))));  // truncated key
  EXPECT_FALSE(decrypt_session_id(privk, "!!"));                          // not base64
  EXPECT_FALSE(decrypt_session_id(privk, b64url(mpi(n))));                // c >= n
  for (BIGNUM* x : {p, q, n, phi, e, d, p1, q1, m, c}) BN_free(x);
  BN_CTX_free(ctx);
}

}  // namespace
}  // namespace moccha::mega
