#include "core/time_util.h"

#include <gtest/gtest.h>

namespace moccha {
namespace {

using std::chrono::microseconds;

TEST(Uptime, FormatsLikePythonTimedelta) {
  EXPECT_EQ(format_uptime(microseconds(0)), "0:00:00");
  EXPECT_EQ(format_uptime(microseconds(1845123456)), "0:30:45.123456");
  EXPECT_EQ(format_uptime(microseconds(86400000000LL + 7384000005LL)), "1 day, 2:03:04.000005");
  EXPECT_EQ(format_uptime(microseconds(3 * 86400000000LL)), "3 days, 0:00:00");
}

TEST(Iso8601, Utc) {
  std::chrono::system_clock::time_point t{std::chrono::seconds(1672574400)};
  EXPECT_EQ(iso8601_utc(t), "2023-01-01T12:00:00");
}

}  // namespace
}  // namespace moccha
