// /shell and /install: one child each, run to completion on a worker thread (blocking).
#pragma once

#include <string>

#include "system/process.h"

namespace moccha::exec {

struct ShellResult {
  std::string stdout_text, stderr_text;
  int code = -1;  // exit code; -N when signal N ended it
  bool success = false;
  bool timed_out = false;
  bool truncated = false;
  std::string error;
  double duration_s = 0;
};

// `/bin/sh -c command` in `cwd`; the whole process group is killed at the timeout.
ShellResult run_shell(const std::string& command, const std::string& cwd, double timeout_s,
                      std::size_t output_limit);

// True if `req` is one pip requirement we accept: a PEP 508 requirement ("name[extra]>=1;
// marker"), an existing local path, or an http(s)/file URL. Never an option ("-r x", "--index").
bool valid_requirement(const std::string& req, std::string& why);

struct InstallResult {
  bool success = false;
  std::string output, error;
  double duration_s = 0;
};

// `<python> -m pip install <requirement>`, with `index_url` when set.
InstallResult pip_install(const std::string& python, const std::string& requirement,
                          const std::string& index_url, const std::string& cwd, double timeout_s,
                          std::size_t output_limit);

}  // namespace moccha::exec
