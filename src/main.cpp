// moccha: `serve` runs the agent; every other subcommand is a client of an agent.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "app/app.h"
#include "cli/cnl_relay.h"
#include "cli/commands.h"
#include "cli/docs.h"
#include "cli/downloads.h"
#include "cli/mega.h"
#include "cli/mega.h"
#include "cli/terminal.h"
#include "cli/torrents.h"
#include "cli/transfer.h"
#include "core/config.h"
#include "store/files.h"

namespace {

struct ServeFlags {
  std::string config_file, host, api_key, data_dir, log_file;
  int port = -1;
  bool no_rate_limit = false;
  std::vector<std::string> sets;
};

// Defaults, then the config file, then MOCCHA_* variables, then flags.
moccha::Config load_config(const ServeFlags& f) {
  moccha::Config c;
  auto env = moccha::process_env();
  // The data dir decides where config.json is looked for, so settle it first.
  moccha::apply_env(c, env);
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  moccha::Config probe = c;
  moccha::resolve_defaults(probe);
  std::string file = f.config_file;
  if (file.empty() && env.count("MOCCHA_CONFIG")) file = env["MOCCHA_CONFIG"];
  bool explicit_file = !file.empty();
  if (file.empty()) file = probe.data_dir + "/config.json";
  moccha::Config loaded;
  if (explicit_file || std::filesystem::exists(file)) moccha::apply_file(loaded, file);
  moccha::apply_env(loaded, env);
  for (const auto& kv : f.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw moccha::ConfigError("--set " + kv + ": expected KEY=VALUE");
    moccha::apply_option(loaded, kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!f.host.empty()) loaded.host = f.host;
  if (f.port >= 0) loaded.port = f.port;
  if (!f.api_key.empty()) loaded.api_key = f.api_key;
  if (!f.data_dir.empty()) loaded.data_dir = f.data_dir;
  if (!f.log_file.empty()) loaded.log_file = f.log_file;
  if (f.no_rate_limit) loaded.rate_limit.enabled = false;
  moccha::resolve_defaults(loaded);
  return loaded;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"moccha: remote control for a headless Linux machine"};
  app.set_version_flag("--version", std::string("moccha ") + MOCCHA_VERSION);
  app.require_subcommand(1);
  std::string url, key;
  bool as_json = false;
  app.add_option("--url", url, "Agent URL (MOCCHA_URL; default http://127.0.0.1:5000)");
  app.add_option("--api-key", key, "API key (MOCCHA_API_KEY; default ~/.moccha/api_key)");

  ServeFlags sf;
  auto* serve = app.add_subcommand("serve", "Run the agent");
  serve->add_option("--config", sf.config_file, "JSON config file (MOCCHA_CONFIG)");
  serve->add_option("--host", sf.host, "Address to listen on (default 127.0.0.1)");
  serve->add_option("--port", sf.port, "Port (default 5000; 0 picks a free one)");
  serve->add_option("--api-key", sf.api_key, "API key (default: generated, in the data dir)");
  serve->add_option("--data-dir", sf.data_dir, "State directory (default ~/.moccha)");
  serve->add_option("--log-file", sf.log_file, "Log file (default /tmp/moccha.log)");
  serve->add_flag("--no-rate-limit", sf.no_rate_limit, "Switch rate limiting off");
  serve->add_option("--set", sf.sets, "Any config key, e.g. --set limits.max_connections=100");
  bool print_config = false, start_tunnel = false;
  serve->add_flag("--tunnel", start_tunnel,
                  "Start the tunnel service (see config tunnel) and print its public URL");
  serve->add_flag("--print-config", print_config, "Print the effective config and exit");

  std::string key_data_dir;
  auto* key_cmd = app.add_subcommand("key", "Print the agent's API key (creating it if needed)");
  key_cmd->add_option("--data-dir", key_data_dir, "State directory (default ~/.moccha)");

  auto* status = app.add_subcommand("status", "System status of the agent's machine");
  status->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* openapi = app.add_subcommand("openapi", "Print the agent's OpenAPI 3.1 document");
  auto* services = app.add_subcommand("services", "List the services the agent knows");
  services->add_flag("--json", as_json, "Print the raw JSON reply");

  std::string code, code_file, task_id, command, package;
  bool async = false;
  double timeout = 0;
  int limit = 20;
  auto* exec = app.add_subcommand("exec", "Run Python code in the agent's kernel");
  exec->add_option("code", code, "Code to run; '-' or nothing reads standard input");
  exec->add_option("-f,--file", code_file, "Read the code from a file");
  exec->add_flag("--async", async, "Run as an async task and follow its output");
  exec->add_option("--timeout", timeout, "Interrupt after this many seconds");
  auto* task = app.add_subcommand("task", "Show an async task");
  task->add_option("id", task_id, "Task id")->required();
  task->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* shell = app.add_subcommand("shell", "Run a shell command on the agent's machine");
  shell->add_option("command", command, "The command (one argument; quote it)")->required();
  shell->add_option("--timeout", timeout, "Kill it after this many seconds");
  auto* install = app.add_subcommand("install", "pip install a package into the kernel's Python");
  install->add_option("package", package, "A requirement, a path or a URL")->required();
  auto* vars = app.add_subcommand("vars", "Show the kernel's variables");
  vars->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* history = app.add_subcommand("history", "Show the execution history");
  history->add_option("--limit", limit, "How many entries (newest first)");
  history->add_flag("--json", as_json, "Print the raw JSON reply");

  std::string remote, local;
  auto* ls = app.add_subcommand("ls", "List a directory on the agent's machine");
  ls->add_option("path", remote, "Directory (default: the workspace)");
  ls->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* upload = app.add_subcommand("upload", "Upload a file");
  upload->add_option("local", local, "Local file")->required();
  upload->add_option("remote_dir", remote, "Destination directory (default: the workspace)");
  auto* download = app.add_subcommand(
      "download", "Download a file (resumes a partial one), or a directory as an archive");
  download->add_option("remote", remote, "Remote file or directory")->required();
  download->add_option("local", local, "Local file (default: the remote name)");
  std::string archive_format;
  download->add_flag("--tar{tar}", archive_format, "A directory as a tar archive");
  download->add_flag("--tar-gz{tar.gz}", archive_format, "A directory as a gzipped tar archive");
  download->add_flag("--zip{zip}", archive_format, "A directory as a zip archive");

  std::string service_name;
  std::vector<std::string> pairs;
  auto* services_status = app.add_subcommand("services-status", "Status of every service");
  services_status->add_flag("--json", as_json, "Print the raw JSON reply");
  std::vector<std::pair<CLI::App*, std::string>> actions;
  for (const char* action : {"start", "stop", "restart"}) {
    auto* sub =
        app.add_subcommand(std::string("service-") + action, std::string("Service: ") + action);
    sub->add_option("name", service_name, "Service name (deluge, jdownloader, mega, aria2, tunnel)")
        ->required();
    actions.emplace_back(sub, action);
  }
  auto* config_cmd = app.add_subcommand("config", "Service configuration");
  config_cmd->require_subcommand(1);
  auto* config_get = config_cmd->add_subcommand("get", "Show a service's config (or all)");
  config_get->add_option("name", service_name, "Service name");
  auto* config_set = config_cmd->add_subcommand("set", "Change keys: config set NAME k=v ...");
  config_set->add_option("name", service_name, "Service name")->required();
  config_set->add_option("pairs", pairs, "key=value pairs")->required();

  std::string torrent;
  bool paused = false, watch = false, remove_data = false;
  auto* deluge_add = app.add_subcommand("deluge-add", "Add a torrent: MAGNET, URL or FILE");
  deluge_add->add_option("torrent", torrent, "Magnet link, http(s) URL, or .torrent path")
      ->required();
  deluge_add->add_flag("--paused", paused, "Add it paused");
  auto* deluge_list = app.add_subcommand("deluge-list", "List torrents");
  deluge_list->add_flag("--watch", watch, "Keep refreshing, with a progress bar per torrent");
  deluge_list->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* deluge_info = app.add_subcommand("deluge-info", "A torrent in detail");
  deluge_info->add_option("id", torrent, "Torrent id (info-hash)")->required();
  deluge_info->add_flag("--json", as_json, "Print the raw JSON reply");
  std::vector<std::pair<CLI::App*, std::string>> torrent_actions;
  for (const char* action : {"pause", "resume", "remove"}) {
    auto* sub =
        app.add_subcommand(std::string("deluge-") + action, std::string("Torrent: ") + action);
    sub->add_option("id", torrent, "Torrent id (info-hash)")->required();
    if (std::string(action) == "remove")
      sub->add_flag("--data", remove_data, "Also delete the downloaded data");
    torrent_actions.emplace_back(sub, action);
  }

  std::vector<std::string> links;
  std::string download_id, out_name, out_dir;
  auto* get_cmd = app.add_subcommand("get",
                                     "Download links through the one queue (torrents "
                                     "to Deluge, direct links to aria2)");
  get_cmd->add_option("url", links, "Magnet links, .torrent URLs, http(s)/ftp/sftp links")
      ->required();
  auto* downloads_cmd = app.add_subcommand("downloads", "Every engine's downloads in one table");
  downloads_cmd->add_flag("--watch", watch, "Keep refreshing, with a progress bar each");
  downloads_cmd->add_flag("--json", as_json, "Print the raw JSON reply");
  auto* aria2_add = app.add_subcommand("aria2-add", "Add a direct link to aria2");
  aria2_add->add_option("url", torrent, "An http(s), ftp or sftp link")->required();
  aria2_add->add_option("--out", out_name, "File name to save as");
  aria2_add->add_option("--dir", out_dir, "Directory on the agent's machine");
  auto* aria2_list = app.add_subcommand("aria2-list", "List aria2's downloads");
  aria2_list->add_flag("--json", as_json, "Print the raw JSON reply");
  std::vector<std::pair<CLI::App*, std::string>> aria2_actions;
  for (const char* action : {"pause", "resume", "remove"}) {
    auto* sub =
        app.add_subcommand(std::string("aria2-") + action, std::string("Download: ") + action);
    sub->add_option("id", download_id, "Download id (aria2's gid)")->required();
    if (std::string(action) == "remove")
      sub->add_flag("--data", remove_data, "Also delete the downloaded file");
    aria2_actions.emplace_back(sub, action);
  }
  auto* events_cmd = app.add_subcommand("events", "Print the agent's events as they happen");
  events_cmd->add_flag("--json", as_json, "One JSON object per line");

  auto mega_commands = moccha::cli::add_mega_commands(app);

  std::string terminal_id;
  auto* term_cmd = app.add_subcommand(
      "term", "A shell on the agent in this terminal (Ctrl-] detaches, the shell stays)");
  term_cmd->add_option("id", terminal_id, "Attach to this terminal (default: open a new one)");

  std::string cnl_listen = "127.0.0.1:9666", cnl_service;
  auto* cnl_cmd = app.add_subcommand(
      "cnl-relay", "Receive Click'n'Load on this computer and send the links to the agent");
  cnl_cmd->add_option("--listen", cnl_listen, "Loopback HOST:PORT (default 127.0.0.1:9666)");
  cnl_cmd->add_option("--service", cnl_service,
                      "Send every link to this engine (default: routed by the link)");

  // Documents made from this table (the package's man page and bash completion); hidden.
  auto* man_cmd = app.add_subcommand("man", "Print the man page moccha(1)")->group("");
  auto* completion_cmd =
      app.add_subcommand("completion", "Print the bash completion script")->group("");

  CLI11_PARSE(app, argc, argv);

  if (man_cmd->parsed()) {
    std::cout << moccha::cli::man_page(app, MOCCHA_VERSION);
    return 0;
  }
  if (completion_cmd->parsed()) {
    std::cout << moccha::cli::bash_completion(app);
    return 0;
  }
  try {
    if (serve->parsed()) {
      moccha::Config config = load_config(sf);
      config.start_tunnel = start_tunnel;
      if (print_config) {
        std::cout << moccha::to_json(config).dump(2) << "\n";
        return 0;
      }
      return moccha::app::serve(std::move(config));
    }
    if (key_cmd->parsed()) {
      moccha::Config c;
      moccha::apply_env(c, moccha::process_env());
      if (!key_data_dir.empty()) c.data_dir = key_data_dir;
      moccha::resolve_defaults(c);
      std::cout << moccha::store::load_or_create_api_key(c.data_dir).key << "\n";
      return 0;
    }
    moccha::cli::Client client(moccha::cli::resolve_endpoint(url, key));
    if (status->parsed()) return moccha::cli::status(client, as_json);
    if (services->parsed()) return moccha::cli::services(client, as_json);
    if (openapi->parsed()) {
      std::cout << client.call("GET", "/openapi.json").dump(2) << "\n";
      return 0;
    }
    std::optional<double> t;
    if (timeout > 0) t = timeout;
    if (exec->parsed()) {
      if (!code_file.empty()) {
        std::ifstream in(code_file);
        if (!in) throw std::runtime_error("cannot read " + code_file);
        code.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      } else if (code.empty() || code == "-") {
        code.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      }
      return moccha::cli::exec(client, code, async, t);
    }
    if (task->parsed()) return moccha::cli::task(client, task_id, as_json);
    if (shell->parsed()) return moccha::cli::shell(client, command, t);
    if (install->parsed()) return moccha::cli::install(client, package);
    if (vars->parsed()) return moccha::cli::vars(client, as_json);
    if (history->parsed()) return moccha::cli::history(client, limit, as_json);
    if (ls->parsed()) return moccha::cli::ls(client, remote, as_json);
    if (services_status->parsed()) return moccha::cli::services_status(client, as_json);
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return moccha::cli::service_action(client, service_name, action);
    if (config_get->parsed()) return moccha::cli::config_get(client, service_name);
    if (config_set->parsed()) return moccha::cli::config_set(client, service_name, pairs);
    if (deluge_add->parsed()) return moccha::cli::deluge_add(client, torrent, paused);
    if (deluge_list->parsed()) return moccha::cli::deluge_list(client, watch, as_json);
    if (deluge_info->parsed()) return moccha::cli::deluge_info(client, torrent, as_json);
    for (auto& [sub, action] : torrent_actions)
      if (sub->parsed()) return moccha::cli::deluge_action(client, torrent, action, remove_data);
    if (get_cmd->parsed()) return moccha::cli::get(client, links);
    if (downloads_cmd->parsed()) return moccha::cli::downloads(client, watch, as_json);
    if (aria2_add->parsed()) return moccha::cli::aria2_add(client, torrent, out_name, out_dir);
    if (aria2_list->parsed()) return moccha::cli::aria2_list(client, as_json);
    for (auto& [sub, action] : aria2_actions)
      if (sub->parsed()) return moccha::cli::aria2_action(client, download_id, action, remove_data);
    if (events_cmd->parsed()) return moccha::cli::events(client, as_json);
    if (auto rc = moccha::cli::run_mega_command(*mega_commands, client)) return *rc;
    if (term_cmd->parsed()) return moccha::cli::term(client, terminal_id);
    if (cnl_cmd->parsed()) return moccha::cli::cnl_relay(client, cnl_listen, cnl_service);
    if (upload->parsed()) return moccha::cli::upload(client, local, remote);
    if (download->parsed()) return moccha::cli::download(client, remote, local, archive_format);
  } catch (const moccha::ConfigError& e) {
    std::cerr << "moccha: " << e.what() << "\n";
    return 2;
  } catch (const moccha::cli::ClientError& e) {
    std::cerr << "moccha: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "moccha: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
