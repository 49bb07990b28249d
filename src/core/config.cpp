#include "core/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace moccha {
namespace {

using json = nlohmann::json;

// One configurable value: how to read it from JSON and from text, and how to show it.
struct Option {
  std::string key;
  std::function<void(Config&, const json&)> from_json;
  std::function<void(Config&, const std::string&)> from_text;
  std::function<json(const Config&)> show;
};

[[noreturn]] void fail(const std::string& key, const std::string& what) {
  throw ConfigError("config '" + key + "': " + what);
}

template <class T>
T parse_text(const std::string& key, const std::string& text) {
  if constexpr (std::is_same_v<T, std::string>) {
    return text;
  } else if constexpr (std::is_same_v<T, bool>) {
    std::string v = text;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "off" || v == "no") return false;
    fail(key, "expected a boolean (true/false/on/off), got '" + text + "'");
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    // A list in text form is JSON ("[\"/a\",\"/b\"]") or comma-separated.
    if (!text.empty() && text.front() == '[') {
      try {
        return json::parse(text).get<T>();
      } catch (const json::exception&) {
        fail(key, "expected a JSON list of strings");
      }
    }
    T out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');)
      if (!item.empty()) out.push_back(item);
    return out;
  } else {
    T value{};
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) fail(key, "expected a number, got '" + text + "'");
    return value;
  }
}

template <class T>
T parse_json(const std::string& key, const json& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) fail(key, "expected a string");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) fail(key, "expected a boolean");
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](auto& e) { return e.is_string(); }))
      fail(key, "expected a list of strings");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) fail(key, "expected a number");
  } else {
    if (!v.is_number_integer()) fail(key, "expected an integer");
  }
  return v.get<T>();
}

template <class T>
void check_range(const std::string& key, const T& value) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (value < 0) fail(key, "must not be negative");
  }
}

template <class T, class Access>
Option option(std::string key, Access access) {
  return Option{
      key,
      [key, access](Config& c, const json& v) {
        T value = parse_json<T>(key, v);
        check_range(key, value);
        access(c) = std::move(value);
      },
      [key, access](Config& c, const std::string& text) {
        T value = parse_text<T>(key, text);
        check_range(key, value);
        access(c) = std::move(value);
      },
      [access](const Config& c) { return json(access(const_cast<Config&>(c))); },
  };
}

#define MOCCHA_OPT(type, key, member) option<type>(key, [](Config& c) -> type& { return c.member; })

const std::vector<Option>& options() {
  using Strings = std::vector<std::string>;
  static const std::vector<Option> table = {
      MOCCHA_OPT(std::string, "host", host),
      MOCCHA_OPT(int, "port", port),
      MOCCHA_OPT(std::string, "api_key", api_key),
      MOCCHA_OPT(std::string, "data_dir", data_dir),
      MOCCHA_OPT(std::string, "log_file", log_file),
      MOCCHA_OPT(std::size_t, "log_max_bytes", log_max_bytes),
      MOCCHA_OPT(std::string, "python", python),
      MOCCHA_OPT(std::string, "workspace", workspace),
      MOCCHA_OPT(double, "cpu_sample_interval_s", cpu_sample_interval_s),
      MOCCHA_OPT(std::size_t, "limits.max_body_bytes", limits.max_body_bytes),
      MOCCHA_OPT(std::size_t, "limits.max_upload_bytes", limits.max_upload_bytes),
      MOCCHA_OPT(std::size_t, "limits.max_header_bytes", limits.max_header_bytes),
      MOCCHA_OPT(int, "limits.header_timeout_s", limits.header_timeout_s),
      MOCCHA_OPT(int, "limits.idle_timeout_s", limits.idle_timeout_s),
      MOCCHA_OPT(int, "limits.request_timeout_s", limits.request_timeout_s),
      MOCCHA_OPT(int, "limits.max_connections", limits.max_connections),
      MOCCHA_OPT(int, "limits.max_connections_per_client", limits.max_connections_per_client),
      MOCCHA_OPT(int, "limits.shutdown_grace_s", limits.shutdown_grace_s),
      MOCCHA_OPT(bool, "rate_limit.enabled", rate_limit.enabled),
      MOCCHA_OPT(int, "rate_limit.system", rate_limit.system),
      MOCCHA_OPT(int, "rate_limit.services", rate_limit.services),
      MOCCHA_OPT(int, "rate_limit.deluge", rate_limit.deluge),
      MOCCHA_OPT(int, "rate_limit.auth_failures", rate_limit.auth_failures),
      MOCCHA_OPT(Strings, "files.roots", files.roots),
      MOCCHA_OPT(double, "shell.default_timeout_s", shell.default_timeout_s),
      MOCCHA_OPT(double, "shell.max_timeout_s", shell.max_timeout_s),
      MOCCHA_OPT(std::size_t, "exec.output_limit_bytes", exec.output_limit_bytes),
      MOCCHA_OPT(std::size_t, "exec.spill_limit_bytes", exec.spill_limit_bytes),
      MOCCHA_OPT(std::size_t, "exec.spill_kept_bytes", exec.spill_kept_bytes),
      MOCCHA_OPT(std::size_t, "exec.history_kept", exec.history_kept),
      MOCCHA_OPT(std::size_t, "exec.tasks_kept", exec.tasks_kept),
      MOCCHA_OPT(double, "exec.interrupt_grace_s", exec.interrupt_grace_s),
      MOCCHA_OPT(bool, "exec.warm_spare", exec.warm_spare),
      MOCCHA_OPT(std::string, "pip.index_url", pip.index_url),
      MOCCHA_OPT(std::string, "metrics.token", metrics.token),
      MOCCHA_OPT(double, "pip.timeout_s", pip.timeout_s),
      MOCCHA_OPT(Strings, "web.allowed_hosts", web.allowed_hosts),
      MOCCHA_OPT(double, "web.session_idle_hours", web.session_idle_hours),
      MOCCHA_OPT(bool, "terminal.enabled", terminal.enabled),
      MOCCHA_OPT(std::string, "terminal.shell", terminal.shell),
      MOCCHA_OPT(double, "terminal.idle_timeout_s", terminal.idle_timeout_s),
      MOCCHA_OPT(std::size_t, "terminal.scrollback_bytes", terminal.scrollback_bytes),
      MOCCHA_OPT(std::size_t, "terminal.max_terminals", terminal.max_terminals),
  };
  return table;
}

#undef MOCCHA_OPT

const Option* find_option(const std::string& key) {
  for (const auto& o : options())
    if (o.key == key) return &o;
  return nullptr;
}

std::string env_name(const std::string& key) {
  std::string name = "MOCCHA_";
  for (char c : key) name += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

void apply_object(Config& config, const json& obj, const std::string& prefix) {
  for (const auto& [name, value] : obj.items()) {
    std::string key = prefix.empty() ? name : prefix + "." + name;
    if (const Option* o = find_option(key)) {
      o->from_json(config, value);
    } else if (value.is_object()) {
      apply_object(config, value, key);
    } else {
      fail(key, "unknown key");
    }
  }
}

}  // namespace

void apply_json(Config& config, const json& doc) {
  if (!doc.is_object()) throw ConfigError("config: the document must be a JSON object");
  Config staged = config;  // all or nothing
  apply_object(staged, doc, "");
  config = std::move(staged);
}

void apply_env(Config& config, const std::map<std::string, std::string>& env) {
  Config staged = config;
  for (const auto& o : options()) {
    if (auto it = env.find(env_name(o.key)); it != env.end()) o.from_text(staged, it->second);
  }
  if (auto it = env.find("MOCCHA_HOME"); it != env.end() && !env.count("MOCCHA_DATA_DIR"))
    staged.data_dir = it->second;
  if (auto it = env.find("MOCCHA_RATE_LIMIT"); it != env.end())
    find_option("rate_limit.enabled")->from_text(staged, it->second);
  config = std::move(staged);
}

void apply_option(Config& config, const std::string& key, const std::string& value) {
  const Option* o = find_option(key);
  if (!o) fail(key, "unknown key");
  o->from_text(config, value);
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("MOCCHA_")) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

void apply_file(Config& config, const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("config file " + path.string() + ": cannot be read");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded()) throw ConfigError("config file " + path.string() + ": not valid JSON");
  try {
    apply_json(config, doc);
  } catch (const ConfigError& e) {
    throw ConfigError("config file " + path.string() + ": " + e.what());
  }
}

void resolve_defaults(Config& config) {
  if (config.data_dir.empty()) {
    const char* home = std::getenv("HOME");
    config.data_dir = std::string(home && *home ? home : "/root") + "/.moccha";
  }
  if (config.workspace.empty()) {
    std::error_code ec;
    config.workspace = std::filesystem::is_directory("/content", ec)
                           ? "/content"
                           : (std::filesystem::path(config.data_dir) / "workspace").string();
  }
  if (config.port < 0 || config.port > 65535) fail("port", "must be 0..65535");
  if (config.limits.max_connections < 1) fail("limits.max_connections", "must be at least 1");
  if (config.limits.max_connections_per_client < 1)
    fail("limits.max_connections_per_client", "must be at least 1");
}

std::vector<std::string> option_keys() {
  std::vector<std::string> keys;
  for (const auto& o : options()) keys.push_back(o.key);
  return keys;
}

json to_json(const Config& config) {
  json out = json::object();
  for (const auto& o : options()) {
    if (o.key == "api_key") continue;
    std::string pointer = "/" + o.key;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    json shown = o.show(config);
    // A secret is shown as set or not, never itself.
    if (o.key == "metrics.token" && !config.metrics.token.empty()) shown = "********";
    out[json::json_pointer(pointer)] = std::move(shown);
  }
  return out;
}

}  // namespace moccha
