// The agent's configuration: one struct, filled from defaults, then a JSON file, then
// MOCCHA_* environment variables, then command-line flags (later sources win).
//
// Every option is declared once in the table in config.cpp: its dotted JSON key (nested
// objects in the file, e.g. {"limits": {"max_connections": 100}}), its environment variable
// (MOCCHA_ + the key upper-cased with '.' -> '_') and its type. Unknown keys and wrong types
// are errors, reported with the key's name: a typo never goes unnoticed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace moccha {

struct LimitsConfig {
  std::size_t max_body_bytes = 8u << 20;     // JSON bodies; 413 beyond
  std::size_t max_upload_bytes = 0;          // 0 = unlimited
  std::size_t max_header_bytes = 16u << 10;  // 431 beyond
  int header_timeout_s = 10;                 // first request's header (slowloris)
  int idle_timeout_s = 60;                   // keep-alive wait for the next request
  int request_timeout_s = 60;                // reading a body, writing a reply
  int max_connections = 2048;
  int max_connections_per_client = 512;  // per client address; beyond, a 503
  int shutdown_grace_s = 10;             // in-flight requests finish within this
};

struct RateLimitConfig {
  bool enabled = true;
  int system = 100;  // requests per minute per key, by route group
  int services = 60;
  int deluge = 30;
  // Wrong keys per minute per client address answered at once; past this each 401 waits
  // longer (doubling, up to 10 s). The right key is never refused or slowed.
  int auth_failures = 20;
};

struct FilesConfig {
  std::vector<std::string> roots = {"/"};
};

struct ShellConfig {
  double default_timeout_s = 30;
  double max_timeout_s = 3600;
};

struct ExecConfig {
  std::size_t output_limit_bytes = 16u << 20;  // per stream, in the reply and in memory
  // An output past that is kept whole on disk (DATA_DIR/output) up to spill_limit_bytes (0: not
  // at all) and read by GET /task/{id}/output; the newest tasks_kept of them, spill_kept_bytes
  // in all, are kept.
  std::size_t spill_limit_bytes = std::size_t{1} << 30;
  std::size_t spill_kept_bytes = std::size_t{4} << 30;
  std::size_t history_kept = 100000;  // newest history entries kept in moccha.db
  std::size_t tasks_kept = 1000;      // newest async tasks (with their output) kept there
  double interrupt_grace_s = 3;       // after SIGINT, before the kernel is killed and restarted
  bool warm_spare = true;             // a second kernel kept started, for instant restarts
};

struct PipConfig {
  std::string index_url;  // empty: pip's own default
  double timeout_s = 600;
};

struct MetricsConfig {
  // A key GET /metrics takes besides the API key, for a scraper that should hold nothing more.
  std::string token;
};

// The dashboard: who may reach it by name, and how long a browser stays logged in.
struct WebConfig {
  // Host names the dashboard answers besides IP literals, localhost and *.localhost ("*.x"
  // allows x's subdomains); the tunnel's public name joins at run time.
  std::vector<std::string> allowed_hosts;
  double session_idle_hours = 12;  // a browser session unused this long is gone
};

// Shells in the browser and `moccha term` (/terminals).
struct TerminalConfig {
  bool enabled = true;
  std::string shell;                          // empty: the user's login shell
  double idle_timeout_s = 3600;               // unwatched and silent this long: ended (0: never)
  std::size_t scrollback_bytes = 512u << 10;  // what a viewer who joins gets first
  std::size_t max_terminals = 16;
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 5000;       // 0: pick a free port
  std::string api_key;   // empty: generated and stored in data_dir/api_key
  std::string data_dir;  // default ~/.moccha
  std::string log_file = "/tmp/moccha.log";
  std::size_t log_max_bytes = 64u << 20;  // then kept as LOG.1 and started anew; 0: never
  std::string python = "python3";
  std::string workspace;  // default /content if it exists, else data_dir/workspace
  double cpu_sample_interval_s = 1.0;
  LimitsConfig limits;
  RateLimitConfig rate_limit;
  FilesConfig files;
  ShellConfig shell;
  ExecConfig exec;
  PipConfig pip;
  MetricsConfig metrics;
  WebConfig web;
  TerminalConfig terminal;
  bool start_tunnel = false;  // `serve --tunnel`: start the tunnel service and print its URL
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Applies a parsed JSON document (nested objects). Throws ConfigError naming the key.
void apply_json(Config& config, const nlohmann::json& doc);

// Applies MOCCHA_* variables from `env` (name -> value). Throws ConfigError.
// Aliases: MOCCHA_HOME = MOCCHA_DATA_DIR, MOCCHA_RATE_LIMIT=off|on.
void apply_env(Config& config, const std::map<std::string, std::string>& env);

// Applies one option given as text ("limits.max_connections", "100"). Throws ConfigError.
void apply_option(Config& config, const std::string& key, const std::string& value);

// The process environment as a map, for apply_env.
std::map<std::string, std::string> process_env();

// Reads and applies a JSON file. Throws ConfigError with the path on any failure.
void apply_file(Config& config, const std::filesystem::path& path);

// Fills what is derived: data_dir, workspace. Creates neither.
void resolve_defaults(Config& config);

// Every option's dotted key, for help and documentation.
std::vector<std::string> option_keys();

// The config as JSON (api_key left out), for `moccha serve --print-config`.
nlohmann::json to_json(const Config& config);

}  // namespace moccha
