#include "services/schema.h"

#include <gtest/gtest.h>

#include "services/service.h"

namespace moccha::services::schema {
namespace {

using nlohmann::json;

bool accepts(const Rule& rule, const json& v) {
  try {
    rule("k", v);
    return true;
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.kind, ServiceError::Kind::invalid);
    EXPECT_NE(std::string(e.what()).find("'k'"), std::string::npos) << e.what();
    return false;
  }
}

TEST(Schema, Paths) {
  auto p = path();
  EXPECT_TRUE(accepts(p, "/data/downloads"));
  EXPECT_FALSE(accepts(p, "relative/dir"));
  EXPECT_FALSE(accepts(p, ""));
  EXPECT_FALSE(accepts(p, "/"));
  EXPECT_FALSE(accepts(p, "//"));
  EXPECT_FALSE(accepts(p, "/data/../etc"));
  EXPECT_FALSE(accepts(p, "/data/./x"));
  EXPECT_FALSE(accepts(p, std::string("/data\0x", 7)));
  EXPECT_FALSE(accepts(p, "/data\nx"));
  EXPECT_FALSE(accepts(p, "/" + std::string(5000, 'a')));
  EXPECT_TRUE(accepts(path({.may_be_empty = true}), ""));
  EXPECT_TRUE(accepts(p, "/data/..hidden"));  // a name, not a component
}

TEST(Schema, HostsInterfacesPorts) {
  EXPECT_TRUE(accepts(host(), "localhost"));
  EXPECT_TRUE(accepts(host(), "seedbox.lan"));
  EXPECT_TRUE(accepts(host(), "127.0.0.2"));
  EXPECT_TRUE(accepts(host(), "::1"));
  EXPECT_FALSE(accepts(host(), ""));
  EXPECT_FALSE(accepts(host(), "evil\r\nhost"));
  EXPECT_FALSE(accepts(host(), "-bad.example"));
  EXPECT_FALSE(accepts(host(), std::string(300, 'a')));
  EXPECT_TRUE(accepts(interface(), ""));
  EXPECT_TRUE(accepts(interface(), "127.0.0.1"));
  EXPECT_FALSE(accepts(interface(), "not an ip"));
  EXPECT_TRUE(accepts(port(), 6881));
  EXPECT_FALSE(accepts(port(), 0));
  EXPECT_FALSE(accepts(port(), 65536));
  EXPECT_FALSE(accepts(port(), 1.5));
  EXPECT_FALSE(accepts(port(), json::parse("18446744073709551615")));
}

TEST(Schema, SpeedsTextAndLists) {
  EXPECT_TRUE(accepts(speed(), 0));
  EXPECT_TRUE(accepts(speed(), 512.5));
  EXPECT_FALSE(accepts(speed(), -1));
  EXPECT_FALSE(accepts(speed(), 1e308));
  EXPECT_FALSE(accepts(speed(), json::parse("9223372036854775808")));
  EXPECT_TRUE(accepts(text(8), "secret"));
  EXPECT_FALSE(accepts(text(8), "far too long"));
  EXPECT_FALSE(accepts(text(), std::string("a\0b", 3)));
  EXPECT_TRUE(accepts(url_list(2), json::array({"http://127.0.0.1:9/hook"})));
  EXPECT_FALSE(accepts(url_list(2), json::array({"http://a", "http://b", "http://c"})));
  EXPECT_FALSE(accepts(url_list(2), json::array({"ftp://a"})));
  EXPECT_FALSE(accepts(url_list(2), json::array({"http://a b"})));
  EXPECT_TRUE(accepts(url(true), ""));
  EXPECT_FALSE(accepts(url(), ""));
}

}  // namespace
}  // namespace moccha::services::schema
