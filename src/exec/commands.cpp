#include "exec/commands.h"

#include <fmt/core.h>

#include <filesystem>
#include <regex>

#include "store/output_store.h"

namespace moccha::exec {
namespace {

std::chrono::milliseconds to_ms(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

}  // namespace

ShellResult run_shell(const std::string& command, const std::string& cwd, double timeout_s,
                      std::size_t output_limit, store::OutputStore* outputs,
                      const std::string& id) {
  sys::RunOptions o;
  o.argv = {"/bin/sh", "-c", command};
  o.cwd = cwd;
  o.timeout = to_ms(timeout_s);
  o.output_limit = output_limit;
  if (outputs && !id.empty()) {
    o.spill_out = outputs->path(id, "stdout");
    o.spill_err = outputs->path(id, "stderr");
    o.spill_limit = outputs->spill_limit();
  }
  sys::RunResult r = sys::run(o);
  ShellResult s;
  s.stdout_text = std::move(r.out);
  s.stderr_text = std::move(r.err);
  s.truncated = r.out_truncated || r.err_truncated;
  s.stdout_bytes = r.out_bytes;
  s.stderr_bytes = r.err_bytes;
  s.stdout_spilled = r.out_spilled;
  s.stderr_spilled = r.err_spilled;
  if (outputs && (r.out_spilled || r.err_spilled)) outputs->prune();
  s.duration_s = r.seconds;
  s.timed_out = r.timed_out;
  if (!r.started) {
    s.error = r.error;
    return s;
  }
  s.code = r.signal ? -r.signal : r.exit_code;
  s.success = !r.timed_out && r.signal == 0 && r.exit_code == 0;
  if (r.timed_out)
    s.error = fmt::format(
        "command timed out after {} s; it and every process it started were killed", timeout_s);
  else if (r.signal)
    s.error = fmt::format("command killed by signal {}", r.signal);
  return s;
}

bool valid_requirement(const std::string& req, std::string& why) {
  if (req.empty()) {
    why = "empty requirement";
    return false;
  }
  if (req.size() > 1000) {
    why = "requirement too long";
    return false;
  }
  if (req.front() == '-') {
    why = "options are not accepted, only a requirement";
    return false;
  }
  for (unsigned char c : req) {
    if (c < 0x20 || c == 0x7f) {
      why = "control characters are not accepted";
      return false;
    }
  }
  static const std::regex url(R"(^(https?|file)://[^\s]+$)", std::regex::icase);
  if (std::regex_match(req, url)) return true;
  if (req.front() == '/' || req.starts_with("./") || req.starts_with("../")) {
    std::error_code ec;
    if (std::filesystem::exists(req, ec)) return true;
    why = "no such local path: " + req;
    return false;
  }
  // PEP 508: name, optional [extras], optional version specifiers, optional ; marker.
  static const std::regex pep508(R"(^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)"
                                 R"((\s*\[\s*[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+)*\s*\])?)"
                                 R"((\s*(===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+)"
                                 R"((\s*,\s*(===|==|!=|~=|>=|<=|>|<)\s*[A-Za-z0-9.*+!_-]+)*)?)"
                                 R"((\s*;\s*[A-Za-z0-9_.'"<>=!~ ()-]+)?$)");
  if (std::regex_match(req, pep508)) return true;
  why = "not a requirement pip understands on its own (name[extras]==version, a path or a URL)";
  return false;
}

InstallResult pip_install(const std::string& python, const std::string& requirement,
                          const std::string& index_url, const std::string& cwd, double timeout_s,
                          std::size_t output_limit) {
  sys::RunOptions o;
  o.argv = {python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check"};
  if (!index_url.empty()) {
    o.argv.push_back("--index-url");
    o.argv.push_back(index_url);
  }
  o.argv.push_back("--");  // whatever follows is a requirement, never an option
  o.argv.push_back(requirement);
  o.cwd = cwd;
  o.timeout = to_ms(timeout_s);
  o.output_limit = output_limit;
  o.env = {{"PIP_NO_INPUT", "1"}};
  sys::RunResult r = sys::run(o);
  InstallResult out;
  out.output = std::move(r.out);
  out.error = std::move(r.err);
  out.duration_s = r.seconds;
  if (!r.started) {
    out.error = r.error;
    return out;
  }
  out.success = !r.timed_out && r.exit_code == 0;
  if (r.timed_out) out.error += fmt::format("\npip timed out after {} s and was killed", timeout_s);
  return out;
}

}  // namespace moccha::exec
