#include "cli/commands.h"

#include <fmt/core.h>

namespace moccha::cli {
namespace {

using nlohmann::json;

void print_json(const json& j) {
  fmt::print("{}\n", j.dump(2));
}

double num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

int status(const Client& client, bool as_json) {
  json s = client.call("GET", "/status");
  if (as_json) {
    print_json(s);
    return 0;
  }
  fmt::print("agent       {}\n", client.endpoint().url);
  fmt::print("uptime      {}\n", s.value("uptime", "?"));
  fmt::print("cpu         {:.1f}% of {} cores\n", num(s, "cpu_pct"), s.value("cpu_count", 0));
  fmt::print("memory      {:.1f} of {:.1f} GiB used ({:.1f}%)\n", num(s, "ram_used_gb"),
             num(s, "ram_total_gb"), num(s, "ram_pct"));
  fmt::print("disk        {:.1f} GiB free of {:.1f} GiB\n", num(s, "disk_free_gb"),
             num(s, "disk_total_gb"));
  const json& gpus = s.contains("gpus") ? s["gpus"] : json::array();
  if (gpus.empty()) fmt::print("gpu         none\n");
  for (const auto& g : gpus) {
    std::string util = g["util_pct"].is_number() ? fmt::format("{}%", g["util_pct"].get<int>())
                                                 : std::string("n/a");
    fmt::print("gpu {}       {}: {} of {} MiB, {} busy\n", g.value("index", 0),
               g.value("name", "?"), g.value("mem_used_mb", 0LL), g.value("mem_total_mb", 0LL),
               util);
  }
  fmt::print("executions  {}\nvariables   {}\n", s.value("executions", 0LL),
             s.value("variables", 0LL));
  return 0;
}

int services(const Client& client, bool as_json) {
  json s = client.call("GET", "/services");
  if (as_json) {
    print_json(s);
    return 0;
  }
  for (const auto& name : s["services"]) fmt::print("{}\n", name.get<std::string>());
  return 0;
}

}  // namespace moccha::cli
