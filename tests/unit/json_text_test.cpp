#include "core/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace moccha {
namespace {

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonText, StringsAreWhatNlohmannWrites) {
  // Byte for byte what dump(error_handler_t::replace) gives, the invalid UTF-8 included: one
  // U+FFFD per longest well-formed prefix.
  for (std::string s :
       {std::string(""), std::string("plain"), std::string("q\"b\\s/"),
        std::string("\x01\x1f\x7f\b\f\n\r\t", 8), std::string("nul\0in", 6),
        std::string("h\xc3\xa9llo"), std::string("\xf0\x9f\x98\x80 emoji"), std::string("\xff"),
        std::string("\xe2\x82"),
        std::string("\xe2\x82"
                    "A"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\xc0\xaf"),
        std::string("\xf0\x9f\x98"), std::string("a\x80\x80z"), std::string("\xe0\x9f\x80")}) {
    EXPECT_EQ(json_string(s),
              nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
        << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
}

TEST(JsonText, RealsStayRealsAndReadBackTheSame) {
  auto real = [](auto v) {
    std::string out;
    append_json_real(out, v);
    return out;
  };
  EXPECT_EQ(real(100.0), "100.0");
  EXPECT_EQ(real(-0.0), "-0.0");
  EXPECT_EQ(real(0.1f), "0.1");  // a float's own shortest text, not 0.10000000149011612
  EXPECT_EQ(real(1.0f / 3), "0.33333334");
  EXPECT_EQ(real(1e300), "1e+300");
  EXPECT_EQ(real(std::nan("")), "null");
  EXPECT_EQ(real(std::numeric_limits<float>::infinity()), "null");
  for (double v : {0.1, 1.0 / 3, 12345.678, 5e-324, 1.7976931348623157e308})
    EXPECT_EQ(nlohmann::json::parse(real(v)).get<double>(), v);
  std::string i;
  append_json_integer(i, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(i, "-9223372036854775808");
}

}  // namespace
}  // namespace moccha
