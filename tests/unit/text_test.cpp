#include "core/text.h"

#include <gtest/gtest.h>

namespace moccha {
namespace {

TEST(EscapeControl, EveryControlCharacterBecomesVisible) {
  EXPECT_EQ(escape_control("plain text"), "plain text");
  EXPECT_EQ(escape_control("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(escape_control(std::string("x\0y\x1b\x7f", 5)), "x\\x00y\\x1b\\x7f");
  // A backslash is doubled, so an escape in the input cannot pass for one we wrote.
  EXPECT_EQ(escape_control("\\n"), "\\\\n");
  EXPECT_EQ(escape_control("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 passes as it is
}

}  // namespace
}  // namespace moccha
