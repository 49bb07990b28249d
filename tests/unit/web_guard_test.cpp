#include "http/web_guard.h"

#include <gtest/gtest.h>

#include <memory>

#include "store/database.h"
#include "web/sessions.h"

namespace moccha::http {
namespace {

TEST(HostList, AnswersLoopbackIpLiteralsAndNamedHostsComparingNamesNotPorts) {
  HostList hosts({"box.lan", "*.example.net"});
  for (const char* ok :
       {"127.0.0.1:5000", "localhost", "localhost:9000", "LOCALHOST.", "a.localhost", "[::1]:5000",
        "10.0.0.7", "box.lan:1", "x.example.net", "a.b.example.net"})
    EXPECT_TRUE(hosts.allows(ok)) << ok;
  for (const char* bad : {"", "evil.example", "example.net", "localhost.evil.example",
                          "box.lan.evil", "127.0.0.1.nip.io", "xlocalhost"})
    EXPECT_FALSE(hosts.allows(bad)) << bad;
  std::string tunnel;
  hosts.add_source([&] { return tunnel; });
  EXPECT_FALSE(hosts.allows("abc.trycloudflare.com"));
  tunnel = "https://abc.trycloudflare.com";
  EXPECT_TRUE(hosts.allows("abc.trycloudflare.com"));
}

BrowserHeaders page(const char* method) {
  return {method, "127.0.0.1:5000", std::nullopt, std::nullopt, std::nullopt, false};
}

TEST(CrossSite, ReadsNeedNoTokenButAForeignOriginOrSiteIsRefused) {
  EXPECT_EQ(cross_site_refusal(page("GET"), "t"), std::nullopt);
  auto h = page("GET");
  h.sec_fetch_site = "none";  // a typed URL
  EXPECT_EQ(cross_site_refusal(h, "t"), std::nullopt);
  h.sec_fetch_site = "same-site";  // another port of localhost
  EXPECT_NE(cross_site_refusal(h, "t"), std::nullopt);
  h = page("GET");
  h.origin = "http://127.0.0.1:8888";
  EXPECT_NE(cross_site_refusal(h, "t"), std::nullopt);
  h.origin = "https://127.0.0.1:5000";  // the tunnel's scheme is not ours to judge
  EXPECT_EQ(cross_site_refusal(h, "t"), std::nullopt);
}

TEST(CrossSite, WritesNeedTheirOriginShownAndTheToken) {
  auto h = page("POST");
  h.csrf_token = "token";
  EXPECT_NE(cross_site_refusal(h, "token"), std::nullopt);  // nothing shows it is the page
  h.sec_fetch_site = "same-origin";
  EXPECT_EQ(cross_site_refusal(h, "token"), std::nullopt);
  EXPECT_NE(cross_site_refusal(h, "other"), std::nullopt);
  h.csrf_token.reset();
  EXPECT_NE(cross_site_refusal(h, "token"), std::nullopt);
  h = page("DELETE");
  h.origin = "http://127.0.0.1:5000";
  h.csrf_token = "token";
  EXPECT_EQ(cross_site_refusal(h, "token"), std::nullopt);
  h.sec_fetch_site = "none";  // not for a write
  EXPECT_NE(cross_site_refusal(h, "token"), std::nullopt);
}

TEST(CrossSite, AWebSocketUpgradeNeedsItsOrigin) {
  auto h = page("GET");
  h.websocket = true;
  EXPECT_NE(cross_site_refusal(h, "t"), std::nullopt);
  h.origin = "http://127.0.0.1:5000";
  EXPECT_EQ(cross_site_refusal(h, "t"), std::nullopt);
}

TEST(Cookies, AreFoundByExactName) {
  EXPECT_EQ(cookie_value("a=1; moccha_5000=abc; b=2", "moccha_5000"), "abc");
  EXPECT_EQ(cookie_value("moccha_50000=x;moccha_5000=\"q\"", "moccha_5000"), "q");
  EXPECT_EQ(cookie_value("xmoccha_5000=abc", "moccha_5000"), std::nullopt);
  EXPECT_EQ(cookie_value("", "moccha_5000"), std::nullopt);
}

TEST(WebSessions, LoginCodesWorkOnceAndSessionsComeBackWithTheirKey) {
  auto dir = std::filesystem::temp_directory_path() / ("moccha-web-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto run_now = [](std::function<void()> f) { f(); };
  std::string cookie, csrf;
  {
    store::Database db((dir / "moccha.db").string());
    web::WebSessions s(&db, "key-1", std::chrono::hours(1), run_now);
    std::string code = s.login_code();
    EXPECT_TRUE(s.redeem(code));
    EXPECT_FALSE(s.redeem(code));
    EXPECT_FALSE(s.redeem("0123"));
    auto c = s.create();
    cookie = c.cookie;
    csrf = c.csrf_token;
    EXPECT_EQ(s.csrf_of(cookie), csrf);
    EXPECT_EQ(s.csrf_of(cookie + "0"), std::nullopt);
  }
  {
    store::Database db((dir / "moccha.db").string());
    web::WebSessions s(&db, "key-1", std::chrono::hours(1), run_now);
    EXPECT_EQ(s.csrf_of(cookie), csrf);
    s.end(cookie);
    EXPECT_EQ(s.csrf_of(cookie), std::nullopt);
    cookie = s.create().cookie;
  }
  {
    store::Database db((dir / "moccha.db").string());
    web::WebSessions s(&db, "key-2", std::chrono::hours(1), run_now);  // a new key
    EXPECT_EQ(s.csrf_of(cookie), std::nullopt);
    EXPECT_EQ(s.count(), 0u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moccha::http
