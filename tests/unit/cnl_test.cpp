#include "services/jdownloader/cnl.h"

#include <gtest/gtest.h>

#include "cli/cnl_relay.h"
#include "services/jdownloader/api_client.h"

namespace moccha::cnl {
namespace {

// Made with: printf 'http://a.example/1\r\nhttp://b.example/2' zero-padded to 48 bytes |
//   openssl enc -aes-128-cbc -nopad -K 3132...6566 -iv 3132...6566 | base64
constexpr const char* kCrypted = "wjPkPPbep4kgp/8w2NC0HamxvXzDwugi+xEF2LGwpTPrf23lymoXrTlcqj1/H9pk";
constexpr const char* kHex = "31323334353637383930616263646566";

TEST(Cnl, TheStandardKeyFunctionIsReadNeverRun) {
  EXPECT_EQ(key_from_jk("function f(){ return '31323334353637383930616263646566';}"),
            "1234567890abcdef");
  EXPECT_EQ(key_from_jk(" function f ( ) {return \"31323334353637383930616263646566\"} ; "),
            "1234567890abcdef");
  for (const char* bad :
       {"function f(){ return '3132';}", "function f(){ return x;}",
        "function f(){ return '31323334353637383930616263646566' + require('fs');}",
        "function f(){ return '31323334353637383930616263646566';} f2()",
        "function g(){ return '31323334353637383930616263646566';}", ""}) {
    EXPECT_THROW(key_from_jk(bad), Error) << bad;
  }
  EXPECT_EQ(key_from_hex(kHex), "1234567890abcdef");
  EXPECT_THROW(key_from_hex("zz323334353637383930616263646566"), Error);
}

TEST(Cnl, LinksDecryptWithZeroPaddingAndFormSpaces) {
  auto links = decrypt_links(kCrypted, "1234567890abcdef");
  EXPECT_EQ(links, (std::vector<std::string>{"http://a.example/1", "http://b.example/2"}));
  // A form that turned '+' into ' ' (a page that did not encode it) still decrypts.
  std::string spaced = kCrypted;
  for (char& c : spaced)
    if (c == '+') c = ' ';
  EXPECT_EQ(decrypt_links(spaced, "1234567890abcdef"), links);
  EXPECT_THROW(decrypt_links(kCrypted, "0000000000000000"), Error);  // garbage: no links
  EXPECT_THROW(decrypt_links("abc", "1234567890abcdef"), Error);
  EXPECT_THROW(decrypt_links("QUJD", "1234567890abcdef"), Error);  // 3 bytes: no block
  EXPECT_THROW(decrypt_links(kCrypted, "short"), Error);
}

TEST(Cnl, FormsGiveAPackage) {
  Package p = read_form({{"crypted", kCrypted},
                         {"jk", std::string("function f(){ return '") + kHex + "';}"},
                         {"source", "http://page.example/"},
                         {"passwords", "secret"}},
                        true);
  EXPECT_EQ(p.links.size(), 2u);
  EXPECT_EQ(p.name, "http://page.example/");
  EXPECT_EQ(p.passwords, "secret");
  p = read_form({{"crypted", kCrypted}, {"k", kHex}, {"package", "pkg"}}, true);
  EXPECT_EQ(p.name, "pkg");
  EXPECT_THROW(read_form({{"crypted", kCrypted}}, true), Error);
  EXPECT_THROW(read_form({{"jk", "x"}}, true), Error);
  p = read_form({{"urls", "http://a/1 http://b/2\nftp://c/3\r\n\r\nnot-a-link"}}, false);
  EXPECT_EQ(p.links, (std::vector<std::string>{"http://a/1", "http://b/2", "ftp://c/3"}));
  EXPECT_THROW(read_form({{"urls", "  \n"}}, false), Error);
}

}  // namespace
}  // namespace moccha::cnl

namespace moccha::cli {
namespace {

TEST(CnlRelay, OnlyLoopbackPeersAreLoopback) {
  for (const char* yes : {"127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback(yes)) << yes;
  for (const char* no : {"10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0",
                         "localhost", "", "127.0.0.1.evil.example"})
    EXPECT_FALSE(is_loopback(no)) << no;
}

}  // namespace
}  // namespace moccha::cli

namespace moccha::jd {
namespace {

using nlohmann::json;

TEST(JdEnvelope, RequestsArePositionalAndRepliesCarryDataOrAType) {
  EXPECT_EQ(json::parse(encode_request("/linkgrabberv2/addLinks",
                                       json::array({{{"links", "http://a/1"}}}), 7)),
            json({{"apiVer", 1},
                  {"url", "/linkgrabberv2/addLinks"},
                  {"params", {{{"links", "http://a/1"}}}},
                  {"rid", 7}}));
  EXPECT_EQ(json::parse(encode_request("/device/ping", json::object(), 1))["params"],
            json::array());
  EXPECT_EQ(decode_reply(200, R"({"data":true,"rid":1})"), true);
  EXPECT_TRUE(decode_reply(200, R"({"data":null,"rid":1})").is_null());
  try {
    decode_reply(404, R"({"src":"DEVICE","type":"API_COMMAND_NOT_FOUND","data":"/x/y"})");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.kind, ApiError::Kind::refused);
    EXPECT_EQ(e.type, "API_COMMAND_NOT_FOUND");
    EXPECT_STREQ(e.what(), "API_COMMAND_NOT_FOUND: /x/y");
  }
  for (auto [status, body] : {std::pair<long, const char*>{200, "[1]"},
                              {200, "not json"},
                              {500, "<html>"},
                              {200, R"({"rid":1})"}}) {
    try {
      decode_reply(status, body);
      FAIL() << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.kind, ApiError::Kind::protocol) << body;
    }
  }
}

}  // namespace
}  // namespace moccha::jd
