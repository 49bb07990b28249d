#include "cli/torrents.h"

#include <fmt/core.h>

#include <filesystem>

#include "cli/format.h"

namespace moccha::cli {
namespace {

using json = nlohmann::json;

void print_table(const json& list) {
  fmt::print("{:<10} {:<28} {:<12} {:<24} {:>12} {:>12} {:>5}\n", "ID", "NAME", "STATE", "PROGRESS",
             "DOWN", "UP", "PEERS");
  for (const auto& t : list["torrents"]) {
    double pct = t.value("progress", 0.0);
    fmt::print("{:<10} {} {:<12} {} {:5.1f}% {:>12} {:>12} {:>5}\n",
               t.value("id", "").substr(0, 10), column(t.value("name", ""), 28),
               t.value("state", ""), bar(pct, 16), pct, rate(t.value("download_rate", 0.0)),
               rate(t.value("upload_rate", 0.0)), t.value("peers", 0));
  }
  if (list["torrents"].empty()) fmt::print("(no torrents)\n");
}

}  // namespace

int deluge_add(const Client& client, const std::string& what, bool paused) {
  json r;
  std::error_code ec;
  if (what.starts_with("magnet:") || what.starts_with("http://") || what.starts_with("https://")) {
    r = client.call("POST", "/services/deluge/torrents",
                    {{"torrent_url", what}, {"paused", paused}});
  } else if (std::filesystem::is_regular_file(what, ec)) {
    // A .torrent here is uploaded: the agent may well be another machine.
    r = client.post_file("/services/deluge/torrents", {{"paused", paused ? "true" : "false"}},
                         "torrent", what);
  } else {
    // Not here: a path on the agent's machine.
    r = client.call("POST", "/services/deluge/torrents",
                    {{"torrent_file", what}, {"paused", paused}});
  }
  fmt::print("{}\n", r.value("torrent_id", ""));
  return 0;
}

int deluge_list(const Client& client, bool watch, bool as_json) {
  if (!watch) {
    json r = client.call("GET", "/services/deluge/torrents");
    if (as_json)
      fmt::print("{}\n", r.dump(2));
    else
      print_table(r);
    return 0;
  }
  // Every 3 s: 20 of the deluge group's 30 requests a minute, leaving room for others.
  watch_loop([&] { print_table(client.call("GET", "/services/deluge/torrents")); }, 3);
}

int deluge_info(const Client& client, const std::string& id, bool as_json) {
  json r = client.call("GET", "/services/deluge/torrents/" + id);
  const json& t = r["torrent"];
  if (as_json) {
    fmt::print("{}\n", r.dump(2));
    return 0;
  }
  fmt::print("{}  {}\nstate {}  {:.1f}%  {} of {} bytes  ratio {:.2f}  eta {} s\n",
             t.value("id", ""), t.value("name", ""), t.value("state", ""), t.value("progress", 0.0),
             t.value("total_done", 0LL), t.value("total_wanted", 0LL), t.value("ratio", 0.0),
             t.value("eta", 0LL));
  fmt::print("down {}  up {}  seeds {}  peers {}\n", rate(t.value("download_rate", 0.0)),
             rate(t.value("upload_rate", 0.0)), t.value("seeds", 0), t.value("num_peers", 0));
  for (const auto& f : t["files"])
    fmt::print("  file  {:5.1f}%  {:>12}  {}\n", f.value("progress", 0.0) * 100,
               f.value("size", 0LL), f.value("path", ""));
  for (const auto& tr : t["trackers"])
    fmt::print("  tracker  tier {}  {}  {}\n", tr.value("tier", 0), tr.value("url", ""),
               tr.value("status", ""));
  for (const auto& p : t["peers"])
    fmt::print("  peer  {}  {}  {:.1f}%  down {}  up {}\n", p.value("peer_id", ""),
               p.value("client", ""), p.value("progress", 0.0) * 100,
               rate(p.value("down_speed", 0.0)), rate(p.value("up_speed", 0.0)));
  return 0;
}

int deluge_action(const Client& client, const std::string& id, const std::string& action,
                  bool remove_data) {
  json body = action == "remove" ? json{{"remove_data", remove_data}} : json(nullptr);
  json r = client.call("POST", "/services/deluge/torrents/" + id + "/" + action, body);
  fmt::print("{}\n", r.value("message", ""));
  return 0;
}

}  // namespace moccha::cli
