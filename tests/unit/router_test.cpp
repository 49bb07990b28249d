#include "http/router.h"

#include <gtest/gtest.h>

namespace moccha::http {
namespace {

Handler noop() {
  return sync([](const ApiRequest&) { return ApiResponse::ok({}); });
}

Router sample() {
  Router r;
  r.add({"GET", "/services", noop()});
  r.add({"GET", "/services/status", noop()});
  r.add({"GET", "/services/{name}/status", noop()});
  r.add({"POST", "/services/{name}/start", noop()});
  r.add({"GET", "/services/config/{name}", noop()});
  r.add({"POST", "/services/config", noop()});
  r.add({"GET", "/services/config", noop()});
  r.add({"GET", "/download/{path*}", noop()});
  r.add({"DELETE", "/variables/{variable_name}", noop()});
  return r;
}

TEST(Router, LiteralBeatsParameter) {
  Router r = sample();
  auto m = r.find("GET", "/services/status");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/services/status");
  EXPECT_TRUE(m.params.empty());
}

TEST(Router, BindsParameters) {
  Router r = sample();
  auto m = r.find("GET", "/services/deluge/status");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/services/{name}/status");
  EXPECT_EQ(m.params.at("name"), "deluge");
  m = r.find("GET", "/services/config/mega");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("name"), "mega");
}

TEST(Router, DecodesSegments) {
  Router r = sample();
  auto m = r.find("DELETE", "/variables/a%20b");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("variable_name"), "a b");
}

TEST(Router, RestParameterKeepsSlashes) {
  Router r = sample();
  auto m = r.find("GET", "/download/dir/sub/file%20name.txt");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("path"), "dir/sub/file name.txt");
  m = r.find("GET", "/download//etc/hostname");  // a leading slash makes it absolute
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params.at("path"), "/etc/hostname");
  EXPECT_FALSE(r.find("GET", "/download").route);
}

TEST(Router, WrongMethodListsAllowed) {
  Router r = sample();
  auto m = r.find("DELETE", "/services/config");
  EXPECT_FALSE(m.route);
  ASSERT_EQ(m.allowed.size(), 2u);
  EXPECT_NE(std::find(m.allowed.begin(), m.allowed.end(), "GET"), m.allowed.end());
  EXPECT_NE(std::find(m.allowed.begin(), m.allowed.end(), "POST"), m.allowed.end());
}

TEST(Router, UnknownPath) {
  Router r = sample();
  auto m = r.find("GET", "/nope");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.allowed.empty());
  EXPECT_FALSE(r.find("GET", "/services/deluge/status/extra").route);
  EXPECT_FALSE(r.find("GET", "/services/%zz/status").route);  // malformed escape
}

TEST(Router, HeadMatchesGet) {
  Router r = sample();
  EXPECT_TRUE(r.find("HEAD", "/services").route);
}

TEST(RateGroups, FromThePath) {
  EXPECT_EQ(rate_group("/services/deluge/torrents"), RateGroup::deluge);
  EXPECT_EQ(rate_group("/services/deluge"), RateGroup::deluge);
  EXPECT_EQ(rate_group("/services/deluge-like/status"), RateGroup::services);
  EXPECT_EQ(rate_group("/services"), RateGroup::services);
  EXPECT_EQ(rate_group("/services/status"), RateGroup::services);
  EXPECT_EQ(rate_group("/status"), RateGroup::system);
  EXPECT_EQ(rate_group("/servicesx"), RateGroup::system);
}

TEST(Query, Parses) {
  auto q = parse_query("path=%2Ftmp%2Fa+b&limit=5&flag&=x");
  EXPECT_EQ(q.at("path"), "/tmp/a b");
  EXPECT_EQ(q.at("limit"), "5");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_FALSE(q.count(""));
}

TEST(PercentDecode, RejectsTruncatedEscapes) {
  std::string out;
  EXPECT_FALSE(percent_decode("%", out));
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_TRUE(percent_decode("a%2F", out));
  EXPECT_EQ(out, "a/");
}

}  // namespace
}  // namespace moccha::http
