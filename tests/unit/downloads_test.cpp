#include "services/downloads.h"

#include <gtest/gtest.h>

#include "services/aria2/aria2_downloads.h"
#include "services/deluge/deluge_downloads.h"
#include "services/service.h"

namespace moccha::services {
namespace {

using json = nlohmann::json;

// An engine of the test's own: a list it answers with, or "not running".
class FakeSource : public DownloadSource {
 public:
  FakeSource(std::string name, std::string scheme) : name_(name), scheme_(scheme) {}
  std::string service() const override { return name_; }
  bool takes(const std::string& url) const override { return url.starts_with(scheme_); }
  std::vector<json> items() override {
    if (!up) throw ServiceError(ServiceError::Kind::unavailable, name_ + " is not running");
    return list;
  }
  std::string add(const json& r) override {
    added.push_back(r["url"]);
    return "n" + std::to_string(added.size());
  }
  void act(const std::string& id, const std::string& action) override {
    acted.push_back(id + " " + action);
  }
  bool up = true;
  std::vector<json> list;
  std::vector<std::string> added, acted;

 private:
  std::string name_, scheme_;
};

json item(const std::string& service, const std::string& id, const std::string& state) {
  json it = download_item(service, id, "direct");
  it["state"] = state;
  it["actions"] = {"pause"};
  return it;
}

TEST(DownloadQueue, RoutesByLinkOrByTheNamedService) {
  FakeSource a("alpha", "magnet:"), b("beta", "http");
  DownloadQueue q;
  q.add_source(&a);
  q.add_source(&b);
  EXPECT_EQ(q.add({{"url", "magnet:?xt=1"}}),
            json({{"success", true}, {"id", "alpha:n1"}, {"service", "alpha"}}));
  EXPECT_EQ(q.add({{"url", "https://x/y"}})["service"], "beta");
  EXPECT_EQ(q.add({{"url", "https://x/z"}, {"service", "alpha"}})["id"], "alpha:n2");
  EXPECT_THROW(q.add({{"url", "gopher://x"}}), ServiceError);
  EXPECT_THROW(q.add({{"url", ""}}), ServiceError);
  EXPECT_THROW(q.add(json::object()), ServiceError);
  EXPECT_THROW(q.add({{"url", "https://x"}, {"service", "gamma"}}), ServiceError);
  q.act("beta:n1", "pause");
  EXPECT_EQ(b.acted, std::vector<std::string>{"n1 pause"});
  try {
    q.act("nocolon", "pause");
    FAIL();
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.kind, ServiceError::Kind::not_found);
  }
}

TEST(DownloadQueue, FiltersAndKeepsAStoppedEnginesLastListWithoutActions) {
  FakeSource a("alpha", "a"), b("beta", "b");
  a.list = {item("alpha", "1", "active"), item("alpha", "2", "completed")};
  b.list = {item("beta", "9", "failed")};
  DownloadQueue q;
  q.add_source(&a);
  q.add_source(&b);
  json all = q.list("", "");
  EXPECT_EQ(all["count"], 3);
  EXPECT_EQ(q.list("completed,failed", "")["count"], 2);
  EXPECT_EQ(q.list("", "beta")["downloads"][0]["id"], "beta:9");
  EXPECT_THROW(q.list("done", ""), ServiceError);
  EXPECT_THROW(q.list("", "gamma"), ServiceError);
  a.up = false;
  json stopped = q.list("", "alpha");
  ASSERT_EQ(stopped["count"], 2);
  EXPECT_EQ(stopped["downloads"][0]["actions"], json::array());
  EXPECT_EQ(stopped["downloads"][0]["state"], "active");
}

TEST(DownloadStates, EachEngineMapsToTheCommonVocabulary) {
  EXPECT_EQ(deluge::common_state("Downloading", false), "active");
  EXPECT_EQ(deluge::common_state("Seeding", true), "seeding");
  EXPECT_EQ(deluge::common_state("Paused", false), "paused");
  EXPECT_EQ(deluge::common_state("Paused", true), "completed");
  EXPECT_EQ(deluge::common_state("Checking", false), "verifying");
  EXPECT_EQ(deluge::common_state("Error", false), "failed");
  EXPECT_EQ(deluge::common_state("Queued", false), "queued");
  EXPECT_EQ(aria2::common_state("active"), "active");
  EXPECT_EQ(aria2::common_state("active", true), "seeding");
  EXPECT_EQ(aria2::common_state("waiting"), "queued");
  EXPECT_EQ(aria2::common_state("complete"), "completed");
  EXPECT_EQ(aria2::common_state("error"), "failed");
  EXPECT_EQ(aria2::common_state("removed"), "canceled");
  for (const char* s : kDownloadStates) EXPECT_TRUE(is_download_state(s)) << s;
  EXPECT_FALSE(is_download_state("done"));
  EXPECT_TRUE(is_terminal_state("canceled"));
  EXPECT_FALSE(is_terminal_state("paused"));
}

TEST(DownloadItems, EtaIsNullWhenItCannotBeTold) {
  EXPECT_EQ(eta_seconds(100, 50, 10), 5);
  EXPECT_EQ(eta_seconds(100, 51, 10), 5);  // rounded up
  EXPECT_TRUE(eta_seconds(0, 0, 10).is_null());
  EXPECT_TRUE(eta_seconds(100, 50, 0).is_null());
  EXPECT_TRUE(eta_seconds(100, 100, 10).is_null());
  json it = download_item("aria2", "abc", "direct");
  EXPECT_EQ(it["id"], "aria2:abc");
  for (const char* k : {"id", "service", "kind", "direction", "name", "state", "detail", "progress",
                        "total_bytes", "done_bytes", "download_rate", "upload_rate", "eta", "path",
                        "error", "created", "finished", "actions"})
    EXPECT_TRUE(it.contains(k)) << k;
}

}  // namespace
}  // namespace moccha::services
