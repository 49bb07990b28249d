#include "cli/docs.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>

namespace moccha::cli {
namespace {

// Text for roff: backslashes and hyphens escaped, a leading '.' or '\'' made literal.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands({}))
    if (!sub->get_group().empty()) out.push_back(sub);  // hidden ones have no group
  return out;
}

// "--name" (the long name, else the short one) of an option that is not positional.
std::string flag_name(const CLI::Option* o) {
  if (!o->get_lnames().empty()) return "--" + o->get_lnames().front();
  if (!o->get_snames().empty()) return "-" + o->get_snames().front();
  return o->get_name();
}

bool takes_value(const CLI::Option* o) {
  return o->get_items_expected_max() > 0;
}

std::string metavar(const CLI::Option* o) {
  std::string name = o->get_positional()        ? o->get_name()
                     : !o->get_lnames().empty() ? o->get_lnames().front()
                                                : o->get_name();
  std::string out;
  for (char c : name)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (!out.empty() && out[0] == '_') out.erase(0, 1);
  return out.empty() ? "VALUE" : out;
}

void option_items(std::string& out, const CLI::App& app) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) continue;
    out += ".TP\n\\fB" + roff(flag_name(o)) + "\\fR";
    if (takes_value(o)) out += " \\fI" + roff(metavar(o)) + "\\fR";
    out += "\n" + roff(o->get_description()) + "\n";
  }
}

std::string usage(const CLI::App& app, const std::string& path) {
  std::string out = "\\fBmoccha " + roff(path) + "\\fR";
  bool has_flags = false;
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_positional()) {
      has_flags = true;
      continue;
    }
    std::string v = "\\fI" + roff(metavar(o)) + "\\fR";
    if (o->get_items_expected_max() > 1) v += "...";
    out += o->get_required() ? " " + v : " [" + v + "]";
  }
  if (has_flags) out += " [\\fIoptions\\fR]";
  return out;
}

void command_section(std::string& out, const CLI::App& app, const std::string& path) {
  auto subs = subcommands(app);
  if (!subs.empty() && app.get_options().size() <= 1) {  // a group: its own subcommands
    for (const CLI::App* sub : subs) command_section(out, *sub, path + " " + sub->get_name());
    return;
  }
  out +=
      ".SS \"" + path + "\"\n" + usage(app, path) + "\n.PP\n" + roff(app.get_description()) + "\n";
  for (const CLI::Option* o : app.get_options())
    if (o->get_positional() && !o->get_description().empty())
      out += ".TP\n\\fI" + roff(metavar(o)) + "\\fR\n" + roff(o->get_description()) + "\n";
  option_items(out, app);
}

std::string words(const CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : subcommands(app)) out += (out.empty() ? "" : " ") + sub->get_name();
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) continue;
    for (const auto& l : o->get_lnames()) out += (out.empty() ? "--" : " --") + l;
  }
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  std::string out = fmt::format(".TH MOCCHA 1 \"\" \"moccha {}\" \"User Commands\"\n", version);
  out += ".SH NAME\nmoccha \\- remote control for a headless Linux machine\n";
  out += ".SH SYNOPSIS\n\\fBmoccha\\fR [\\fIoptions\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n";
  out +=
      ".SH DESCRIPTION\n"
      "\\fBmoccha serve\\fR runs the agent: an HTTP/JSON API guarded by an API key that gives "
      "system status, Python in a persistent kernel, shell, pip, files in and out, and a "
      "service manager for download engines (Deluge, aria2, JDownloader), with one download "
      "queue, one event stream and Prometheus metrics.\n.PP\n"
      "Every other command is a client of an agent: it finds the agent with \\fB\\-\\-url\\fR "
      "and \\fB\\-\\-api\\-key\\fR, MOCCHA_URL and MOCCHA_API_KEY, ~/.moccha/client.json, or "
      "the local agent on http://127.0.0.1:5000 with the key in ~/.moccha/api_key.\n";
  out += ".SH OPTIONS\n";
  option_items(out, app);
  out += ".SH COMMANDS\n";
  for (const CLI::App* sub : subcommands(app)) command_section(out, *sub, sub->get_name());
  out +=
      ".SH ENVIRONMENT\n"
      ".TP\n\\fBMOCCHA_URL\\fR, \\fBMOCCHA_API_KEY\\fR\nWhere the agent is and its key, for the "
      "client commands.\n"
      ".TP\n\\fBMOCCHA_\\fR\\fIKEY\\fR\nAny config key of \\fBmoccha serve\\fR, upper\\-cased "
      "with dots as underscores (MOCCHA_LIMITS_MAX_CONNECTIONS).\n";
  out +=
      ".SH FILES\n"
      ".TP\n\\fI~/.moccha\\fR\nThe agent's data dir by default: api_key, config.json, "
      "moccha.db, the services' state (/var/lib/moccha for the packaged service).\n"
      ".TP\n\\fI/usr/share/doc/moccha/README.md\\fR\nThe whole reference: every endpoint, "
      "config key and behaviour.\n";
  return out;
}

std::string bash_completion(const CLI::App& app) {
  // Each command path ("serve", "config/get") with the words it takes next.
  std::string paths, cases;
  for (const CLI::App* sub : subcommands(app)) {
    paths += (paths.empty() ? "" : "|") + ("/" + sub->get_name());
    cases += fmt::format("    {}) opts=\"{}\" ;;\n", sub->get_name(), words(*sub));
    for (const CLI::App* nested : subcommands(*sub)) {
      std::string path = sub->get_name() + "/" + nested->get_name();
      paths += "|" + path;
      cases += fmt::format("    {}) opts=\"{}\" ;;\n", path, words(*nested));
    }
  }
  return fmt::format(
      "# bash completion for moccha, generated by `moccha completion` from its command table.\n"
      "_moccha() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" path=\"\" opts=\"\" i w\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=\"${{COMP_WORDS[i]}}\"\n"
      "    case \"$path/$w\" in\n"
      "      {}) path=\"${{path:+$path/}}$w\" ;;\n"
      "    esac\n"
      "  done\n"
      "  case \"$path\" in\n"
      "    \"\") opts=\"{}\" ;;\n"
      "{}"
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "}}\n"
      "complete -o default -F _moccha moccha\n",
      paths, words(app), cases);
}

}  // namespace moccha::cli
