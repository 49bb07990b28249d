#include "http/rate_limiter.h"

#include <gtest/gtest.h>

namespace moccha::http {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsLimitThenRefusesUntilTheWindowEnds) {
  RateLimiter rl;
  auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) {
    auto d = rl.check("k", 3, t0 + i * 1s);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 2 - i);
    EXPECT_EQ(d.limit, 3);
  }
  auto refused = rl.check("k", 3, t0 + 10s);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.reset_s, 50);  // the window started at t0
  EXPECT_TRUE(rl.exhausted("k", 3, t0 + 59s));
  auto next = rl.check("k", 3, t0 + 60s);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.remaining, 2);
}

TEST(RateLimiter, KeysAreIndependent) {
  RateLimiter rl;
  auto t = RateLimiter::Clock::time_point{} + 1h;
  EXPECT_TRUE(rl.check("a", 1, t).allowed);
  EXPECT_FALSE(rl.check("a", 1, t).allowed);
  EXPECT_TRUE(rl.check("b", 1, t).allowed);
  EXPECT_FALSE(rl.exhausted("c", 1, t));
}

TEST(RateLimiter, SweepsEndedWindows) {
  RateLimiter rl;
  auto t = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 5000; ++i) rl.check("addr" + std::to_string(i), 5, t);
  EXPECT_EQ(rl.size(), 5000u);
  rl.check("late", 5, t + 2min);
  EXPECT_LT(rl.size(), 10u);
}

}  // namespace
}  // namespace moccha::http

namespace moccha::http {
namespace {

TEST(RateLimiter, HitCountsWithoutALimitWithinTheWindow) {
  RateLimiter rl;
  auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 1; i <= 30; ++i) EXPECT_EQ(rl.hit("auth|a", t0), i);
  EXPECT_EQ(rl.hit("auth|b", t0), 1);
  EXPECT_EQ(rl.hit("auth|a", t0 + std::chrono::minutes(1)), 1);  // a new window
}

}  // namespace
}  // namespace moccha::http
