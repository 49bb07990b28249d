#include "cli/downloads.h"

#include <fmt/core.h>

#include "cli/format.h"

namespace moccha::cli {
namespace {

using json = nlohmann::json;

std::string eta(const json& v) {
  if (!v.is_number()) return "-";
  long long s = v.get<long long>();
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

void print_queue(const json& r) {
  fmt::print("{:<8} {:<30} {:<10} {} {:>12} {:>8}\n", "SERVICE", "NAME", "STATE",
             "PROGRESS                ", "DOWN", "ETA");
  for (const auto& d : r["downloads"]) {
    double pct = d.value("progress", 0.0);
    fmt::print("{:<8} {} {:<10} {} {:5.1f}% {:>12} {:>8}\n", d.value("service", ""),
               column(d.value("name", ""), 30), d.value("state", ""), bar(pct, 16), pct,
               rate(d.value("download_rate", 0.0)), eta(d.value("eta", json())));
    if (d["error"].is_object()) fmt::print("         {}\n", d["error"].value("message", ""));
  }
  if (r["downloads"].empty()) fmt::print("(no downloads)\n");
}

}  // namespace

int get(const Client& client, const std::vector<std::string>& urls) {
  int failed = 0;
  for (const auto& url : urls) {
    try {
      json r = client.call("POST", "/downloads", {{"url", url}});
      fmt::print("{} -> {} ({})\n", url, r.value("service", ""), r.value("id", ""));
    } catch (const ClientError& e) {
      // One bad link does not stop the others.
      fmt::print(stderr, "moccha: {}: {}\n", url, e.what());
      ++failed;
    }
  }
  return failed ? 1 : 0;
}

int downloads(const Client& client, bool watch, bool as_json) {
  if (!watch) {
    json r = client.call("GET", "/downloads");
    if (as_json)
      fmt::print("{}\n", r.dump(2));
    else
      print_queue(r);
    return 0;
  }
  // Every 2 s: 30 of the services group's 60 requests a minute.
  watch_loop([&] { print_queue(client.call("GET", "/downloads")); }, 2);
}

int aria2_add(const Client& client, const std::string& url, const std::string& out,
              const std::string& dir) {
  json body = {{"url", url}};
  if (!out.empty()) body["out"] = out;
  if (!dir.empty()) body["dir"] = dir;
  json r = client.call("POST", "/services/aria2/downloads", body);
  fmt::print("{}\n", r.value("download_id", ""));
  return 0;
}

int aria2_list(const Client& client, bool as_json) {
  json r = client.call("GET", "/services/aria2/downloads");
  if (as_json) {
    fmt::print("{}\n", r.dump(2));
    return 0;
  }
  fmt::print("{:<16} {:<30} {:<8} {} {:>12} {:>4}\n", "ID", "NAME", "STATE",
             "PROGRESS                ", "DOWN", "CONN");
  for (const auto& d : r["downloads"]) {
    double pct = d.value("progress", 0.0);
    fmt::print("{:<16} {} {:<8} {} {:5.1f}% {:>12} {:>4}\n", d.value("id", ""),
               column(d.value("name", ""), 30), d.value("state", ""), bar(pct, 16), pct,
               rate(d.value("download_rate", 0.0)), d.value("connections", 0));
    if (d["error"].is_object())
      fmt::print("                 error {}: {}\n", d["error"].value("code", 0),
                 d["error"].value("message", ""));
  }
  if (r["downloads"].empty()) fmt::print("(no downloads)\n");
  return 0;
}

int aria2_action(const Client& client, const std::string& id, const std::string& action,
                 bool remove_data) {
  json body = action == "remove" ? json{{"remove_data", remove_data}} : json::object();
  json r = client.call("POST", "/services/aria2/downloads/" + id + "/" + action, body);
  fmt::print("{}\n", r.value("message", ""));
  return 0;
}

int events(const Client& client, bool as_json) {
  client.events("/events", [&](const std::string& type, const std::string& data) {
    if (as_json) {
      fmt::print("{}\n", data);
    } else {
      json d = json::parse(data, nullptr, false);
      if (d.is_discarded()) return;
      std::string what = d.value("name", "");
      if (d.contains("state") && d["state"].is_string())
        what += " " + d["state"].get<std::string>();
      if (d["error"].is_object()) what += " " + d["error"].value("message", "");
      auto text = [&](const char* k) {
        return d.contains(k) && d[k].is_string() ? d[k].get<std::string>() : std::string("-");
      };
      fmt::print("{} {:<18} {:<8} {} {}\n", text("time"), type, text("service"), text("id"), what);
    }
    std::fflush(stdout);
  });
  return 0;
}

}  // namespace moccha::cli
