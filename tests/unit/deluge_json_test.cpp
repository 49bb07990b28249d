#include "api/deluge_json.h"

#include <gtest/gtest.h>

#include <sstream>

#include "services/deluge/rencode.h"
#include "system/process.h"

namespace moccha::api {
namespace {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// A core.get_torrents_status result as deluged sends it: encoded by Debian's python3-rencode
// with its defaults (32-bit floats), in the daemon's dict order. Thirty torrents (a dict past 25
// entries has a terminator, not a count), with the names a daemon meets: accents, quotes,
// control characters, bytes that are not UTF-8; one status lacks fields, one has extra keys.
std::string deluge_reply(int torrents) {
  sys::RunOptions o;
  o.argv = {"/usr/bin/python3", "-c",
            "import sys, rencode\n"
            "names = ['plain', 'caf\\u00e9 \\u2014 \"quoted\" \\\\ back', 'tab\\there\\nnl',\n"
            "         b'latin1 \\xe9t\\xe9', '\\U0001F600 emoji']\n"
            "out = {}\n"
            "for i in range(int(sys.argv[1])):\n"
            "    tid = '%040x' % (0xfeed * (i + 7) ** 5)\n"
            "    s = {'name': names[i % len(names)], 'progress': (i * 100.0) / 30,\n"
            "         'state': ['Downloading', 'Seeding', 'Paused'][i % 3],\n"
            "         'download_payload_rate': i * 1000, 'upload_payload_rate': 7 * i,\n"
            "         'num_seeds': i % 4, 'num_peers': i % 5, 'total_wanted': 2**40 + i,\n"
            "         'total_done': i << 20, 'eta': -1 if i % 2 else i * 60,\n"
            "         'ratio': -1.0 if i == 0 else 1.0 / (i + 2)}\n"
            "    if i == 4: s = {'name': 'sparse'}\n"
            "    if i == 5: s.update({'unknown': [1, {'x': None}], 'hash': True})\n"
            "    out[tid] = s\n"
            "print(rencode.dumps(out).hex())\n",
            std::to_string(torrents)};
  auto r = sys::run(o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return unhex(r.out.substr(0, r.out.find('\n')));
}

TEST(DelugeJson, ListReadInPlaceEqualsTheDecodedTree) {
  for (int n : {0, 3, 30}) {
    std::string reply = deluge_reply(n);
    ASSERT_FALSE(reply.empty() && n > 0);
    std::string body = torrent_list_body(reply);
    ASSERT_EQ(body.back(), '\n');
    ordered got = ordered::parse(body);  // keeps the order written
    EXPECT_EQ(got.begin().key() + "," + std::next(got.begin()).key() + "," +
                  std::next(got.begin(), 2).key(),
              "success,torrents,count");
    EXPECT_EQ(got["success"], true);
    ASSERT_EQ(got["count"], n);
    ASSERT_EQ(got["torrents"].size(), static_cast<std::size_t>(n));

    // The same result decoded into a tree, one torrent at a time, as the details endpoint does.
    ordered tree =
        ordered::parse(deluge::rdecode(reply).dump(-1, ' ', false, json::error_handler_t::replace));
    std::size_t i = 0;
    for (const auto& [id, status] : tree.items()) {
      const auto& t = got["torrents"][i++];
      EXPECT_EQ(t["id"], id) << "the daemon's order is kept";
      json expected = json::parse(torrent_json(id, json::parse(status.dump()))
                                      .dump(-1, ' ', false, json::error_handler_t::replace));
      EXPECT_EQ(json::parse(t.dump()), expected) << t.dump();
      // The spec's fields, in its order, and nothing else.
      std::vector<std::string> keys;
      for (const auto& [k, v] : t.items()) keys.push_back(k);
      EXPECT_EQ(keys, (std::vector<std::string>{"id", "name", "progress", "state", "download_rate",
                                                "upload_rate", "seeds", "peers", "total_wanted",
                                                "total_done", "eta", "ratio"}));
    }
  }
}

TEST(DelugeJson, ValuesKeepTheirTypes) {
  json got = json::parse(torrent_list_body(deluge_reply(30)));
  const json& t = got["torrents"];
  EXPECT_EQ(t[1]["name"], "caf\u00e9 \u2014 \"quoted\" \\ back");
  EXPECT_EQ(t[2]["name"], "tab\there\nnl");
  EXPECT_EQ(t[3]["name"], "latin1 \xef\xbf\xbdt\xef\xbf\xbd");  // bytes: U+FFFD, not an error
  EXPECT_TRUE(t[10]["progress"].is_number_float());
  EXPECT_EQ(t[10]["progress"].get<double>(), 33.333332);  // a 32-bit float's own text
  EXPECT_EQ(t[0]["progress"].dump(), "0.0");
  EXPECT_EQ(t[0]["ratio"], -1.0);
  EXPECT_EQ(t[1]["eta"], -1);
  EXPECT_EQ(t[2]["eta"], 120);
  EXPECT_EQ(t[3]["total_wanted"], (1LL << 40) + 3);
  EXPECT_EQ(t[4]["name"], "sparse");
  EXPECT_EQ(t[4]["state"], "");
  EXPECT_EQ(t[4]["download_rate"], 0);
  EXPECT_EQ(t[5]["download_rate"], 5000);
}

TEST(DelugeJson, AnotherShapeIsAnErrorNotACrash) {
  for (json bad : {json::array({1, 2}), json("x"), json({{"id", 1}}), json({{"id", {1, 2}}})})
    EXPECT_THROW(torrent_list_body(deluge::rencode(bad)), deluge::RencodeError) << bad.dump();
  std::string truncated = deluge_reply(3);
  truncated.pop_back();
  EXPECT_THROW(torrent_list_body(truncated), deluge::RencodeError);
}

}  // namespace
}  // namespace moccha::api
