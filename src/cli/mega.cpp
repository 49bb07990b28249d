#include "cli/mega.h"

#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/format.h"
#include "core/hex.h"

namespace moccha::cli {

using nlohmann::json;

struct MegaCommands {
  CLI::App *login, *quota, *ls, *mkdir, *mv, *rm, *link, *put, *get;
  std::string email, mfa, path, to, local;
  bool password_stdin = false, permanent = false, as_json = false, no_wait = false;
};

namespace {

std::string size_text(const json& v) {  // a figure MEGA may not give
  return v.is_number() ? size(v.get<double>()) : "-";
}

// The password: a line of stdin with --password-stdin, else asked on the terminal unechoed.
std::string read_password(bool from_stdin) {
  std::string line;
  if (!from_stdin && ::isatty(STDIN_FILENO)) {
    fmt::print(stderr, "MEGA password: ");
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, line);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fmt::print(stderr, "\n");
  } else {
    std::getline(std::cin, line);
  }
  if (line.empty()) throw ClientError("no password given");
  return line;
}

// Follows a transfer to its end: a progress line on a terminal, the outcome in any case.
int follow(const Client& client, const std::string& id, bool as_json) {
  bool tty = ::isatty(STDERR_FILENO);
  for (;;) {
    json t = client.call("GET", "/services/mega/transfers/" + id)["transfer"];
    std::string state = t.value("state", "");
    if (state != "queued" && state != "active") {
      if (tty) fmt::print(stderr, "\r\033[K");
      if (as_json) {
        fmt::print("{}\n", t.dump(2));
      } else if (state == "completed") {
        fmt::print("{} {}: {} ({})\n", t.value("direction", "") == "up" ? "uploaded" : "downloaded",
                   t.value("name", ""),
                   t.value("direction", "") == "up" ? t.value("remote_path", "")
                                                    : t.value("local_path", ""),
                   size_text(t["bytes_total"]));
      } else {
        fmt::print(stderr, "moccha: {} {}: {}\n", t.value("name", ""), state,
                   t["error"].is_string() ? t["error"].get<std::string>() : state);
      }
      return state == "completed" ? 0 : 1;
    }
    if (tty) {
      double pct = t.value("progress", 0.0);
      fmt::print(stderr, "\r{} {} {:5.1f}% {:>12}", column(t.value("name", ""), 30), bar(pct, 20),
                 pct, rate(t.value("speed", 0.0)));
      std::fflush(stderr);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the services group: 60 a minute
  }
}

}  // namespace

std::shared_ptr<MegaCommands> add_mega_commands(CLI::App& app) {
  auto c = std::make_shared<MegaCommands>();
  auto json_flag = [&](CLI::App* sub) { sub->add_flag("--json", c->as_json, "Print JSON"); };
  c->login = app.add_subcommand("mega-login", "Log the agent in to MEGA (and keep the account)");
  c->login->add_option("--email", c->email, "The account (default: the one configured)");
  c->login->add_flag("--password-stdin", c->password_stdin, "Read the password from stdin");
  c->login->add_option("--mfa", c->mfa, "The 2FA code, for accounts that have it on");
  c->quota = app.add_subcommand("mega-quota", "MEGA storage and transfer quota");
  json_flag(c->quota);
  c->ls = app.add_subcommand("mega-ls", "List a MEGA folder ('/' the Cloud Drive, '/Rubbish')");
  c->ls->add_option("path", c->path, "Folder (default /)");
  json_flag(c->ls);
  c->mkdir = app.add_subcommand("mega-mkdir", "Make a MEGA folder and its parents");
  c->mkdir->add_option("path", c->path, "Folder")->required();
  c->mv = app.add_subcommand("mega-mv", "Move a MEGA file or folder into a folder");
  c->mv->add_option("from", c->path, "What to move")->required();
  c->mv->add_option("to", c->to, "The folder it goes into")->required();
  c->rm = app.add_subcommand("mega-rm", "Delete from MEGA (to the Rubbish Bin)");
  c->rm->add_option("path", c->path, "File or folder")->required();
  c->rm->add_flag("--permanent", c->permanent, "Delete for good, not to the Rubbish Bin");
  c->link = app.add_subcommand("mega-link", "A public link to a MEGA file or folder");
  c->link->add_option("path", c->path, "File or folder")->required();
  c->put = app.add_subcommand("mega-put", "Upload a file or folder of the agent's to MEGA");
  c->put->add_option("local", c->local, "Path on the agent's machine")->required();
  c->put->add_option("remote_dir", c->to, "MEGA folder (default /)");
  c->get = app.add_subcommand("mega-get", "Download a MEGA path or public link to the agent");
  c->get->add_option("what", c->path, "MEGA path, or a mega.nz link")->required();
  c->get->add_option("local_dir", c->local, "Folder on the agent (default: download_path)");
  for (CLI::App* sub : {c->put, c->get}) {
    json_flag(sub);
    sub->add_flag("--no-wait", c->no_wait, "Print the transfer id and return");
  }
  return c;
}

std::optional<int> run_mega_command(const MegaCommands& c, const Client& client) {
  auto message = [](const json& r) {
    fmt::print("{}\n", r.value("message", ""));
    return 0;
  };
  if (c.login->parsed()) {
    if (!c.email.empty()) {
      std::string password = read_password(c.password_stdin);
      client.call(
          "POST", "/services/config",
          {{"service_name", "mega"}, {"config", {{"email", c.email}, {"password", password}}}});
    }
    json body = json::object();
    if (!c.mfa.empty()) body["mfa"] = c.mfa;
    client.call("POST", "/services/mega/restart", body);
    json st = client.call("GET", "/services/mega/status");
    fmt::print("logged in to MEGA as {} ({} of {} used)\n", st.value("email", ""),
               size_text(st["storage_used"]), size_text(st["storage_total"]));
    return 0;
  }
  if (c.quota->parsed()) {
    json q = client.call("GET", "/services/mega/quota");
    if (c.as_json) {
      fmt::print("{}\n", q.dump(2));
      return 0;
    }
    fmt::print("account   {}\nstorage   {} of {}\ntransfer  {} of {}\n",
               q.value("account_type", ""), size_text(q["storage_used"]),
               size_text(q["storage_total"]), size_text(q["transfer_used"]),
               size_text(q["transfer_total"]));
    return 0;
  }
  if (c.ls->parsed()) {
    json r = client.call(
        "GET", "/services/mega/files?path=" + percent_encode(c.path.empty() ? "/" : c.path, "/"));
    if (c.as_json) {
      fmt::print("{}\n", r.dump(2));
      return 0;
    }
    for (const auto& i : r["items"])
      fmt::print("{:<4} {:>10}  {}  {}{}\n", i.value("type", ""),
                 i.value("type", "") == "dir" ? "" : size_text(i["size"]), i.value("modified", ""),
                 i.value("name", ""), i.value("type", "") == "dir" ? "/" : "");
    if (r["items"].empty()) fmt::print("(empty)\n");
    return 0;
  }
  if (c.mkdir->parsed())
    return message(client.call("POST", "/services/mega/mkdir", {{"path", c.path}}));
  if (c.mv->parsed())
    return message(client.call("POST", "/services/mega/move", {{"from", c.path}, {"to", c.to}}));
  if (c.rm->parsed())
    return message(client.call("POST", "/services/mega/delete",
                               {{"path", c.path}, {"permanent", c.permanent}}));
  if (c.link->parsed()) {
    fmt::print("{}\n",
               client.call("POST", "/services/mega/link", {{"path", c.path}}).value("link", ""));
    return 0;
  }
  if (c.put->parsed() || c.get->parsed()) {
    json r = c.put->parsed()
                 ? client.call("POST", "/services/mega/upload",
                               {{"local_path", c.local}, {"remote_dir", c.to.empty() ? "/" : c.to}})
                 : client.call("POST", "/services/mega/download", [&] {
                     json b = {{c.path.find("://") != std::string::npos ? "link" : "path", c.path}};
                     if (!c.local.empty()) b["local_dir"] = c.local;
                     return b;
                   }());
    std::string id = r.value("transfer_id", "");
    if (c.no_wait) {
      fmt::print("{}\n", id);
      return 0;
    }
    return follow(client, id, c.as_json);
  }
  return std::nullopt;
}

}  // namespace moccha::cli
