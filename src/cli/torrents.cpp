#include "cli/torrents.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

namespace moccha::cli {
namespace {

using json = nlohmann::json;

std::string rate(double bps) {
  if (bps >= 1 << 20) return fmt::format("{:.1f} MiB/s", bps / (1 << 20));
  if (bps >= 1 << 10) return fmt::format("{:.1f} KiB/s", bps / (1 << 10));
  return fmt::format("{:.0f} B/s", bps);
}

std::string bar(double pct, int width) {
  int filled = static_cast<int>(pct / 100 * width + 0.5);
  filled = std::max(0, std::min(width, filled));
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

// Characters (code points) of UTF-8 text: the bytes that do not continue a sequence.
std::size_t characters(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// `s` in at most `width` characters, cut between characters (never inside one) with "...".
std::string fit(const std::string& s, std::size_t width) {
  if (characters(s) <= width) return s;
  std::size_t kept = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 && kept++ == width - 3) break;
  }
  return s.substr(0, i) + "...";
}

void print_table(const json& list) {
  fmt::print("{:<10} {:<28} {:<12} {:<24} {:>12} {:>12} {:>5}\n", "ID", "NAME", "STATE", "PROGRESS",
             "DOWN", "UP", "PEERS");
  for (const auto& t : list["torrents"]) {
    std::string name = fit(t.value("name", ""), 28);
    double pct = t.value("progress", 0.0);
    fmt::print("{:<10} {}{} {:<12} {} {:5.1f}% {:>12} {:>12} {:>5}\n",
               t.value("id", "").substr(0, 10), name, std::string(28 - characters(name), ' '),
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
  bool tty = ::isatty(1);
  while (true) {  // until interrupted
    // Every 3 s: 20 of the deluge group's 30 requests a minute, leaving room for others.
    auto pause = std::chrono::seconds(3);
    try {
      json r = client.call("GET", "/services/deluge/torrents");
      if (tty) fmt::print("\x1b[H\x1b[2J");
      print_table(r);
    } catch (const ClientError& e) {
      // Passing trouble (the agent restarting, Deluge stopped, the rate limit) is shown and
      // waited out; a wrong key will not pass.
      if (e.status == 401 || e.status == 403) throw;
      fmt::print("{} (trying again)\n", e.what());
      if (e.status == 429) pause = std::chrono::seconds(10);
    }
    std::fflush(stdout);
    std::this_thread::sleep_for(pause);
  }
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
