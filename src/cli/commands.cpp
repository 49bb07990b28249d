#include "cli/commands.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

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

namespace moccha::cli {
namespace {

void print_value(const json& v) {
  if (v.is_null()) return;
  fmt::print("{}\n", v.is_string() ? v.get<std::string>() : v.dump());
}

}  // namespace

int exec(const Client& client, const std::string& code, bool async, std::optional<double> timeout) {
  json body = {{"code", code}};
  if (timeout) body["timeout"] = *timeout;
  if (!async) {
    json r = client.call("POST", "/execute", body);
    std::string kept = r.value("output", "");
    fmt::print("{}", kept);
    std::fflush(stdout);
    if (r.contains("output_url"))
      client.copy_to(r["output_url"].get<std::string>(), stdout, kept.size());
    if (r.value("success", false)) {
      if (r.contains("result")) print_value(r["result"]);
      return 0;
    }
    fmt::print(stderr, "{}", r.value("error", ""));
    return 1;
  }
  json submitted = client.call("POST", "/async-execute", body);
  std::string id = submitted.value("task_id", "");
  fmt::print(stderr, "task {}\n", id);
  // Follow the task's output as the agent streams it (Server-Sent Events).
  int exit_code = 1;
  client.events("/task/" + id + "/events", [&](const std::string& name, const std::string& data) {
    json ev = json::parse(data, nullptr, false);
    if (ev.is_discarded()) return;
    if (name == "output") {
      fmt::print("{}", ev.value("data", ""));
      std::fflush(stdout);
    } else if (name == "end") {
      if (ev.contains("output_url"))
        client.copy_to(ev["output_url"].get<std::string>(), stdout, ev.value("result", "").size());
      if (ev.value("status", "") == "done") {
        exit_code = 0;
      } else {
        fmt::print(stderr, "{}", ev.value("error", ""));
      }
    }
  });
  return exit_code;
}

int task(const Client& client, const std::string& id, bool as_json) {
  json t = client.call("GET", "/task/" + id);
  if (as_json) {
    print_json(t);
    return 0;
  }
  fmt::print(stderr, "status {}  created {}  finished {}\n", t.value("status", "?"),
             t.value("created", "?"),
             t["finished"].is_string() ? t["finished"].get<std::string>() : std::string("-"));
  fmt::print("{}", t.value("result", ""));
  std::fflush(stdout);
  if (t.contains("output_url"))
    client.copy_to(t["output_url"].get<std::string>(), stdout, t.value("result", "").size());
  if (!t.value("error", "").empty()) fmt::print(stderr, "{}", t.value("error", ""));
  return t.value("status", "") == "error" ? 1 : 0;
}

int shell(const Client& client, const std::string& command, std::optional<double> timeout) {
  json body = {{"command", command}};
  if (timeout) body["timeout"] = *timeout;
  json r = client.call("POST", "/shell", body);
  // What passed the reply's cap comes whole from the agent's spill, after what the reply held.
  auto print_stream = [&](const char* name, const char* url, std::FILE* to) {
    std::string kept = r.value(name, "");
    fmt::print(to, "{}", kept);
    std::fflush(to);
    if (r.contains(url)) client.copy_to(r[url].get<std::string>(), to, kept.size());
  };
  print_stream("stdout", "stdout_url", stdout);
  print_stream("stderr", "stderr_url", stderr);
  if (r.contains("error")) fmt::print(stderr, "moccha: {}\n", r.value("error", ""));
  int code = r.value("code", 1);
  return r.value("success", false) ? 0 : (code > 0 && code < 256 ? code : 1);
}

int install(const Client& client, const std::string& package) {
  json r = client.call("POST", "/install", {{"package", package}});
  fmt::print("{}", r.value("output", ""));
  fmt::print(stderr, "{}", r.value("error", ""));
  return r.value("success", false) ? 0 : 1;
}

int vars(const Client& client, bool as_json) {
  json v = client.call("GET", "/variables");
  if (as_json) {
    print_json(v);
    return 0;
  }
  for (const auto& [name, value] : v.items())
    fmt::print("{:<20} {}\n", name, value.is_string() ? value.get<std::string>() : value.dump());
  return 0;
}

int history(const Client& client, int limit, bool as_json) {
  json h = client.call("GET", "/history?limit=" + std::to_string(limit));
  if (as_json) {
    print_json(h);
    return 0;
  }
  for (const auto& e : h) {
    std::string input = e.value("input", "");
    if (auto nl = input.find('\n'); nl != std::string::npos) input = input.substr(0, nl) + " ...";
    if (input.size() > 60) input = input.substr(0, 57) + "...";
    fmt::print("{}  {:<13} {:<4} {:>8.3f}s  {}\n", e.value("time", ""), e.value("type", ""),
               e.value("success", false) ? "ok" : "FAIL", e.value("duration", 0.0), input);
  }
  return 0;
}

}  // namespace moccha::cli

namespace moccha::cli {

int services_status(const Client& client, bool as_json) {
  json r = client.call("GET", "/services/status");
  if (as_json) {
    print_json(r);
    return 0;
  }
  for (const auto& [name, st] : r["services"].items()) {
    bool running = st.value("running", false);
    std::string line = fmt::format("{:<12} {}", name, running ? "running" : "stopped");
    if (running) {
      line += fmt::format("  {}:{}", st.value("host", ""), st.value("port", 0));
      if (st.contains("pid") && st["pid"].is_number())
        line += fmt::format("  pid {}", st["pid"].get<long long>());
      line += st.value("connected", false) ? "  connected" : "  not connected";
      if (st.contains("managed") && st["managed"] == false) line += "  (not managed by moccha)";
    }
    if (st.value("restarts", 0) > 0) line += fmt::format("  restarts {}", st.value("restarts", 0));
    if (st.contains("implemented") && !st.value("implemented", true)) line += "  (not built yet)";
    fmt::print("{}\n", line);
  }
  return 0;
}

int service_action(const Client& client, const std::string& name, const std::string& action) {
  json r = client.call("POST", "/services/" + name + "/" + action);
  fmt::print("{}", r.value("message", ""));
  const json& result = r.contains("result") ? r["result"] : json();
  if (result.is_object() && result.contains("pid") && result["pid"].is_number())
    fmt::print(" (pid {})", result["pid"].get<long long>());
  else if (result.is_object() && result.value("managed", true) == false)
    fmt::print(" (connected to a daemon already running; not managed by moccha)");
  fmt::print("\n");
  return 0;
}

int config_get(const Client& client, const std::string& name) {
  json r = client.call("GET", name.empty() ? "/services/config" : "/services/config/" + name);
  print_json(r["config"]);
  return 0;
}

int config_set(const Client& client, const std::string& name,
               const std::vector<std::string>& pairs) {
  json changes = json::object();
  for (const auto& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw ClientError("expected key=value, got '" + kv + "'");
    std::string value = kv.substr(eq + 1);
    json parsed = json::parse(value, nullptr, false);
    changes[kv.substr(0, eq)] =
        parsed.is_discarded() || parsed.is_object() || parsed.is_array() ? json(value) : parsed;
  }
  json r = client.call("POST", "/services/config", {{"service_name", name}, {"config", changes}});
  fmt::print("{}\n", r.value("message", ""));
  if (!r["restart_required"].empty())
    fmt::print("restart {} for these to take effect: {}\n", name, r["restart_required"].dump());
  return 0;
}

}  // namespace moccha::cli
