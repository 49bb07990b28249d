// /shell and /install: one child each, run to completion on a worker thread (blocking).
#pragma once

#include <string>

#include "system/process.h"

namespace moccha::store {
class OutputStore;
}

namespace moccha::exec {

struct ShellResult {
  std::string stdout_text, stderr_text;
  int code = -1;  // exit code; -N when signal N ended it
  bool success = false;
  bool timed_out = false;
  bool truncated = false;
  std::uint64_t stdout_bytes = 0, stderr_bytes = 0;     // written in all
  bool stdout_spilled = false, stderr_spilled = false;  // kept whole in `outputs`
  std::string error;
  double duration_s = 0;
};

// `/bin/sh -c command` in `cwd`; the whole process group is killed at the timeout. Each stream
// keeps `output_limit` bytes in memory; with `outputs`, one that writes more is kept whole there
// under `id` ("stdout", "stderr").
ShellResult run_shell(const std::string& command, const std::string& cwd, double timeout_s,
                      std::size_t output_limit, store::OutputStore* outputs = nullptr,
                      const std::string& id = {});

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
