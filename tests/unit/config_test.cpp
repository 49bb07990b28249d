#include "core/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace moccha {
namespace {

using nlohmann::json;

TEST(Config, NestedJsonKeys) {
  Config c;
  apply_json(c, json::parse(R"({"port": 6000, "files": {"roots": ["/data", "/tmp"]},
                               "limits": {"max_connections": 64},
                               "rate_limit": {"enabled": false, "deluge": 5}})"));
  EXPECT_EQ(c.port, 6000);
  EXPECT_EQ(c.files.roots, (std::vector<std::string>{"/data", "/tmp"}));
  EXPECT_EQ(c.limits.max_connections, 64);
  EXPECT_FALSE(c.rate_limit.enabled);
  EXPECT_EQ(c.rate_limit.deluge, 5);
  EXPECT_EQ(c.rate_limit.system, 100);  // untouched keys keep their defaults
}

TEST(Config, UnknownKeyNamesTheKeyAndChangesNothing) {
  Config c;
  try {
    apply_json(c, json::parse(R"({"port": 7000, "limits": {"max_conections": 1}})"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("limits.max_conections"), std::string::npos);
  }
  EXPECT_EQ(c.port, 5000);
}

TEST(Config, WrongTypes) {
  Config c;
  EXPECT_THROW(apply_json(c, json::parse(R"({"port": "80"})")), ConfigError);
  EXPECT_THROW(apply_json(c, json::parse(R"({"files": {"roots": "/"}})")), ConfigError);
  EXPECT_THROW(apply_json(c, json::parse(R"({"rate_limit": {"enabled": 1}})")), ConfigError);
  EXPECT_THROW(apply_json(c, json::parse(R"({"limits": {"max_connections": -1}})")), ConfigError);
  EXPECT_THROW(apply_json(c, json::parse(R"([1])")), ConfigError);
}

TEST(Config, Environment) {
  Config c;
  apply_env(c, {{"MOCCHA_PORT", "0"},
                {"MOCCHA_HOME", "/srv/m"},
                {"MOCCHA_RATE_LIMIT", "off"},
                {"MOCCHA_FILES_ROOTS", "/a,/b"},
                {"MOCCHA_LIMITS_MAX_BODY_BYTES", "1024"},
                {"UNRELATED", "x"}});
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.data_dir, "/srv/m");
  EXPECT_FALSE(c.rate_limit.enabled);
  EXPECT_EQ(c.files.roots, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(c.limits.max_body_bytes, 1024u);
  EXPECT_THROW(apply_env(c, {{"MOCCHA_PORT", "80x"}}), ConfigError);
  EXPECT_EQ(c.port, 0);
}

TEST(Config, DataDirBeatsHome) {
  Config c;
  apply_env(c, {{"MOCCHA_HOME", "/h"}, {"MOCCHA_DATA_DIR", "/d"}});
  EXPECT_EQ(c.data_dir, "/d");
}

TEST(Config, OptionByText) {
  Config c;
  apply_option(c, "shell.max_timeout_s", "12.5");
  EXPECT_DOUBLE_EQ(c.shell.max_timeout_s, 12.5);
  apply_option(c, "files.roots", R"(["/x"])");
  EXPECT_EQ(c.files.roots, std::vector<std::string>{"/x"});
  EXPECT_THROW(apply_option(c, "nope", "1"), ConfigError);
}

TEST(Config, DefaultsResolved) {
  Config c;
  c.data_dir = "/tmp/moccha-test-home";
  resolve_defaults(c);
  EXPECT_FALSE(c.workspace.empty());
  c.port = 70000;
  EXPECT_THROW(resolve_defaults(c), ConfigError);
}

TEST(Config, RoundTripsThroughJson) {
  Config c;
  c.port = 1234;
  c.api_key = "secret";
  json j = to_json(c);
  EXPECT_FALSE(j.contains("api_key"));
  Config d;
  apply_json(d, j);
  EXPECT_EQ(d.port, 1234);
  EXPECT_EQ(to_json(d), j);
}

}  // namespace
}  // namespace moccha
