#include "services/downloads.h"

#include <gtest/gtest.h>

#include "services/aria2/rpc_client.h"
#include "services/aria2/shapes.h"
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
  std::vector<DownloadItem> items() override {
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
  std::vector<DownloadItem> list;
  std::vector<std::string> added, acted;

 private:
  std::string name_, scheme_;
};

json listed(DownloadQueue& q, const std::string& states, const std::string& services) {
  return json::parse(q.list_body(states, services));
}

json item_json(const DownloadItem& d) {
  std::string text;
  append_item_json(text, d);
  return json::parse(text);
}

DownloadItem item(const std::string& service, const std::string& id, const std::string& state) {
  DownloadItem it;
  it.service = service;
  it.native_id = id;
  it.kind = "direct";
  it.state = state;
  it.actions = {"pause"};
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
  json all = listed(q, "", "");
  EXPECT_EQ(all["count"], 3);
  EXPECT_EQ(listed(q, "completed,failed", "")["count"], 2);
  EXPECT_EQ(listed(q, "", "beta")["downloads"][0]["id"], "beta:9");
  EXPECT_THROW(listed(q, "done", ""), ServiceError);
  EXPECT_THROW(listed(q, "", "gamma"), ServiceError);
  a.up = false;
  json stopped = listed(q, "", "alpha");
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

TEST(DownloadItems, EveryFieldIsWrittenWithNullsForTheUnknown) {
  EXPECT_EQ(eta_seconds(100, 50, 10), 5);
  EXPECT_EQ(eta_seconds(100, 51, 10), 5);  // rounded up
  EXPECT_FALSE(eta_seconds(0, 0, 10));
  EXPECT_FALSE(eta_seconds(100, 50, 0));
  EXPECT_FALSE(eta_seconds(100, 100, 10));
  DownloadItem d = item("aria2", "abc", "failed");
  d.name = "caf\xc3\xa9 \"q\"";
  d.error_code = "aria2.3";
  d.error_message = "the resource was not found";
  json it = item_json(d);
  EXPECT_EQ(it, json({{"id", "aria2:abc"},
                      {"service", "aria2"},
                      {"kind", "direct"},
                      {"direction", "down"},
                      {"name", "caf\xc3\xa9 \"q\""},
                      {"state", "failed"},
                      {"detail", ""},
                      {"progress", 0.0},
                      {"total_bytes", nullptr},
                      {"done_bytes", 0},
                      {"download_rate", 0},
                      {"upload_rate", 0},
                      {"eta", nullptr},
                      {"path", nullptr},
                      {"error", {{"code", "aria2.3"}, {"message", "the resource was not found"}}},
                      {"created", nullptr},
                      {"finished", nullptr},
                      {"actions", {"pause"}}}));
  std::string text;
  append_item_json(text, d, false);
  EXPECT_EQ(json::parse(text)["actions"], json::array());
}

}  // namespace
}  // namespace moccha::services

namespace moccha::aria2 {
namespace {

using json = nlohmann::json;

TEST(Aria2Shapes, AnAddRequestBecomesAria2sOptions) {
  std::vector<std::string> uris;
  json o = add_options({{"url", "https://h/f.iso"},
                        {"dir", "/data/x"},
                        {"out", "f.iso"},
                        {"headers", {"Authorization: Bearer t"}},
                        {"checksum", "sha-256=" + std::string(64, 'A')},
                        {"connections", 8},
                        {"paused", true}},
                       uris);
  EXPECT_EQ(uris, std::vector<std::string>{"https://h/f.iso"});
  EXPECT_EQ(o, json({{"dir", "/data/x"},
                     {"out", "f.iso"},
                     {"header", {"Authorization: Bearer t"}},
                     {"checksum", "sha-256=" + std::string(64, 'a')},
                     {"max-connection-per-server", "8"},
                     {"split", "8"},
                     {"pause", "true"}}));
  uris.clear();
  EXPECT_EQ(add_options({{"urls", {"ftp://a/f", "sftp://b/f"}}}, uris), json::object());
  EXPECT_EQ(uris.size(), 2u);
  for (const json& bad :
       {json{{"url", "HTTP://"}}, json{{"url", "https://a b"}}, json{{"urls", json::array()}},
        json{{"url", "https://h/f"}, {"checksum", "md5=" + std::string(40, '0')}},
        json{{"url", "https://h/f"}, {"out", ".."}},
        json{{"url", "https://h/f"}, {"dir", "/a/../b"}},
        json{{"url", "https://h/f"}, {"headers", {"X: a\nY: b"}}}}) {
    uris.clear();
    EXPECT_THROW(add_options(bad, uris), services::ServiceError) << bad.dump();
  }
}

TEST(Aria2Shapes, StatusStringsBecomeNumbersAndErrorsGetText) {
  json status = {{"gid", "0123456789abcdef"},
                 {"status", "error"},
                 {"totalLength", "1000"},
                 {"completedLength", "250"},
                 {"downloadSpeed", "0"},
                 {"uploadSpeed", "0"},
                 {"connections", "0"},
                 {"errorCode", "32"},
                 {"errorMessage", ""},
                 {"dir", "/d"},
                 {"files", {{{"path", "/d/f.bin"}}}}};
  Status st = status_from(status);
  json d = download_json(st, {{"url", "http://h/f.bin"}});
  EXPECT_EQ(d["total_length"], 1000);
  EXPECT_EQ(d["completed_length"], 250);
  EXPECT_EQ(d["progress"], 25.0);
  EXPECT_EQ(d["path"], "/d/f.bin");
  EXPECT_EQ(d["name"], "f.bin");
  EXPECT_EQ(d["error"], json({{"code", 32}, {"message", "the checksum did not match"}}));
  auto q = queue_item(st, json::object(), true);
  EXPECT_EQ(q.state, "failed");
  EXPECT_EQ(q.error_code, "aria2.32");
  EXPECT_TRUE(q.actions.empty());
  // A record keeps the same status.
  EXPECT_EQ(download_json(status_from(status_json(st)), json::object()),
            download_json(st, json::object()));
  // Before aria2 knows the file's name or size: from the record and the link.
  Status early = status_from({{"status", "waiting"}, {"dir", "/d"}, {"files", json::array()}});
  json e = download_json(early, {{"url", "http://h/dir/name.tar?x=1"}});
  EXPECT_EQ(e["name"], "name.tar");
  EXPECT_EQ(e["path"], "/d/name.tar");
  EXPECT_TRUE(e["eta"].is_null());
  EXPECT_EQ(queue_item(early, json::object(), true).actions,
            (std::vector<std::string>{"pause", "cancel"}));
  EXPECT_TRUE(queue_item(early, json::object(), false).actions.empty());
  EXPECT_EQ(code_text(3), "the resource was not found");
  EXPECT_EQ(code_text(99), "aria2 error 99");
}

TEST(Aria2Shapes, ABatchOfListsIsReadInPlaceInTheCallsOrder) {
  // As aria2 1.36 answers (numbers as strings, '/' escaped), the stopped list first on the
  // wire: the ids put it back in place.
  std::string reply = R"([{"id":2,"jsonrpc":"2.0","result":[{"gid":"c","status":"complete",
    "totalLength":"10","completedLength":"10","files":[{"path":"\/d\/c.bin","uris":[]}]}]},
    {"id":0,"jsonrpc":"2.0","result":[{"gid":"a","status":"active","totalLength":"100",
    "completedLength":"40","downloadSpeed":"20","uploadSpeed":"0","connections":"4",
    "dir":"\/d","files":[{"path":"\/d\/a.bin","uris":[{"status":"used","uri":"http:\/\/h\/a"},
    {"status":"waiting","uri":"http:\/\/h\/a2"}]},{"path":"\/d\/other"}]}]},
    {"id":1,"jsonrpc":"2.0","result":[]}])";
  auto lists = read_lists(reply);
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].gid, "a");
  EXPECT_EQ(lists[0].total, 100);
  EXPECT_EQ(lists[0].done, 40);
  EXPECT_EQ(lists[0].down, 20);
  EXPECT_EQ(lists[0].connections, 4);
  EXPECT_EQ(lists[0].path, "/d/a.bin");
  EXPECT_EQ(lists[0].uri, "http://h/a");
  EXPECT_EQ(lists[1].gid, "c");
  EXPECT_EQ(lists[1].status, "complete");
  EXPECT_THROW(read_lists(R"([{"id":0,"error":{"code":1,"message":"Unauthorized"}}])"), RpcError);
  try {
    read_lists(R"([{"id":0,"error":{"code":1,"message":"Unauthorized"}}])");
  } catch (const RpcError& e) {
    EXPECT_EQ(e.kind, RpcError::Kind::refused);
    EXPECT_STREQ(e.what(), "Unauthorized");
  }
  EXPECT_THROW(read_lists("[{\"id\":0,"), RpcError);
}

}  // namespace
}  // namespace moccha::aria2
