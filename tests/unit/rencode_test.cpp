#include "services/deluge/rencode.h"

#include <gtest/gtest.h>

#include <sstream>

#include "services/deluge/rpc_client.h"
#include "system/process.h"

namespace moccha::deluge {
namespace {

using json = nlohmann::json;

// The values the golden table covers: every type byte class rencode has.
const char* kTable = R"([0, 1, 43, 44, -1, -32, -33, 127, -128, 128, 32767, -32768, 32768,
  2147483647, -2147483648, 2147483648, 9223372036854775807, -9223372036854775807,
  1.5, -0.25, 1e300, "", "a", "héllo", "x63", "x64", "x200", true, false, null,
  [], [1, [2, [3]]], "L64", "L70", {}, {"a": 1, "b": [true, null]}, "D25", "D30"])";

json expand(const json& v) {
  // "xN": a string of N bytes; "LN": a list of N ints; "DN": a dict of N keys.
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.size() > 1 && (s[0] == 'x' || s[0] == 'L' || s[0] == 'D') &&
        std::isdigit(static_cast<unsigned char>(s[1]))) {
      int n = std::stoi(s.substr(1));
      if (s[0] == 'x') return std::string(n, 'x');
      json out = s[0] == 'L' ? json::array() : json::object();
      for (int i = 0; i < n; ++i) {
        if (s[0] == 'L')
          out.push_back(i);
        else
          out["k" + std::to_string(100 + i)] = i;
      }
      return out;
    }
  }
  return v;
}

std::string hex(const std::string& bytes) {
  static const char* h = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += h[c >> 4];
    out += h[c & 15];
  }
  return out;
}

TEST(Rencode, MatchesDebiansPythonRencodeByteForByte) {
  // Debian's python3-rencode (what deluged uses) encodes the same table; floats as 64-bit.
  sys::RunOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import json, sys, rencode\n"
            "def expand(v):\n"
            "    if isinstance(v, str) and len(v) > 1 and v[0] in 'xLD' and v[1].isdigit():\n"
            "        n = int(v[1:])\n"
            "        if v[0] == 'x': return 'x' * n\n"
            "        if v[0] == 'L': return list(range(n))\n"
            "        return {'k%d' % (100 + i): i for i in range(n)}\n"
            "    return v\n"
            "for v in json.loads(sys.argv[1]):\n"
            "    print(rencode.dumps(expand(v), 64).hex())\n",
            kTable};
  auto r = sys::run(o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  for (const auto& v : json::parse(kTable)) {
    json value = expand(v);
    std::string expected;
    std::getline(lines, expected);
    EXPECT_EQ(hex(rencode(value)), expected) << value.dump();
    EXPECT_EQ(rdecode(rencode(value)), value) << value.dump();
  }
}

TEST(Rencode, DecodesWhatPythonSends) {
  // 32-bit floats (rencode's default) and byte strings with a length prefix.
  EXPECT_EQ(rdecode(std::string("B?\xc0\x00\x00", 5)), 1.5);
  // 0.1f is 0.100000001490116...: read as the double of its shortest text, as a user reads it.
  EXPECT_EQ(rdecode(std::string("B=\xcc\xcc\xcd", 5)), 0.1);
  EXPECT_EQ(rdecode("3:abc"), "abc");
  EXPECT_EQ(rdecode(std::string("=12345678901234567890\x7f", 22)), json(12345678901234567890ull));
}

TEST(Rencode, MalformedInputIsAnErrorNotACrash) {
  for (std::string bad : {std::string(""), std::string("\xc2\x01", 2), std::string("5:ab"),
                          std::string("\x3b\x01", 2), std::string("\x41\x01", 2),
                          std::string("99999999999999999999999:x"), std::string("\x3a"),
                          std::string("\x01\x02", 2), std::string(200, '\xc1')}) {
    EXPECT_THROW(rdecode(bad), RencodeError) << hex(bad);
  }
  std::string deep(500, '\xc1');  // lists nested 500 deep
  deep += '\x00';
  EXPECT_THROW(rdecode(deep), RencodeError);
}

TEST(RpcFrames, RoundTrip) {
  json msg = json::array({json::array(
      {1, "daemon.login", json::array({"u", "p"}), json{{"client_version", "2.0.3"}}})});
  std::string wire = encode_message(msg);
  ASSERT_GT(wire.size(), 5u);
  EXPECT_EQ(wire[0], 1);
  std::uint32_t n = (std::uint8_t(wire[1]) << 24) | (std::uint8_t(wire[2]) << 16) |
                    (std::uint8_t(wire[3]) << 8) | std::uint8_t(wire[4]);
  EXPECT_EQ(n, wire.size() - 5);
  EXPECT_EQ(decode_body(wire.substr(5), 1 << 20), msg);
  EXPECT_THROW(decode_body("not zlib", 1 << 20), RpcError);
  EXPECT_THROW(decode_body(wire.substr(5, 4), 1 << 20), RpcError);
}

}  // namespace
}  // namespace moccha::deluge

namespace moccha::deluge {
namespace {

TEST(Rencode, FuzzFoundContainerDictKeysAreRefused) {
  // A dict keyed by a list of non-UTF-8 bytes once threw from json::dump; dicts keyed by dicts,
  // nested, once took gigabytes (each level escaped the one below). Python keys are scalars.
  EXPECT_THROW(rdecode(std::string("\x67\xc1\x81\xff\x00", 5)), RencodeError);
  EXPECT_THROW(rdecode(std::string("\x67\x67\x67\x00\x00\x00\x00", 7)), RencodeError);
  EXPECT_EQ(rdecode(std::string("\x67\x05\x81x", 4)), nlohmann::json({{"5", "x"}}));
}

}  // namespace
}  // namespace moccha::deluge
