#include <gtest/gtest.h>

#include <string>

#include "terminal/terminals.h"

namespace moccha::terminal {
namespace {

TEST(Scrollback, KeepsTheLastBytesOnly) {
  Scrollback s(10);
  s.append("0123456789");
  EXPECT_EQ(s.text(), "0123456789");
  s.append("ab");
  EXPECT_EQ(s.text(), "23456789ab");
  for (int i = 0; i < 100; ++i) s.append(std::to_string(i % 10));
  EXPECT_EQ(s.text(), "0123456789");
}

TEST(Scrollback, AnAppendBiggerThanTheLimit) {
  Scrollback s(4);
  s.append("abcdefghij");
  EXPECT_EQ(s.text(), "ghij");
}

}  // namespace
}  // namespace moccha::terminal
