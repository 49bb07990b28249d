#include "http/admission.h"

#include <gtest/gtest.h>

namespace moccha::http {
namespace {

using std::chrono::milliseconds;

TEST(Admission, KeysAndBearer) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secre", "secret"));
  EXPECT_FALSE(constant_time_equal("secretx", "secret"));
  EXPECT_FALSE(constant_time_equal("", ""));
  EXPECT_EQ(bearer_key("Bearer abc"), "abc");
  EXPECT_EQ(bearer_key("bEaReR  abc "), "abc");
  EXPECT_EQ(bearer_key("Basic abc"), "");
  EXPECT_EQ(bearer_key("Bearer"), "");
}

TEST(Admission, WrongKeysSlowDownUpTo10s) {
  EXPECT_EQ(auth_delay(20, 20), milliseconds(0));
  EXPECT_EQ(auth_delay(21, 20), milliseconds(100));
  EXPECT_EQ(auth_delay(22, 20), milliseconds(200));
  EXPECT_EQ(auth_delay(27, 20), milliseconds(6400));
  EXPECT_EQ(auth_delay(28, 20), milliseconds(10000));
  EXPECT_EQ(auth_delay(1000000, 20), milliseconds(10000));
}

TEST(Admission, AbsoluteFormTargets) {
  EXPECT_EQ(origin_form("/status?x=1"), "/status?x=1");
  EXPECT_EQ(origin_form("http://127.0.0.1:5000/status?x=1"), "/status?x=1");
  EXPECT_EQ(origin_form("HTTPS://host"), "/");
  EXPECT_EQ(origin_form("http://host?x=1"), "/?x=1");
}

TEST(Admission, Framing) {
  EXPECT_EQ(bad_framing(std::nullopt, 0, true), std::nullopt);
  EXPECT_EQ(bad_framing("chunked", 1, false), std::nullopt);
  EXPECT_EQ(bad_framing(" Chunked ", 1, false), std::nullopt);
  EXPECT_NE(bad_framing("xchunked", 1, true), std::nullopt);
  EXPECT_NE(bad_framing("gzip, chunked", 1, false), std::nullopt);
  EXPECT_NE(bad_framing("chunked", 2, false), std::nullopt);
  EXPECT_NE(bad_framing("chunked", 1, true), std::nullopt);
}

}  // namespace
}  // namespace moccha::http
