// Routes of the execution engine: /execute, /async-execute, /task(s), /variables, /history,
// /shell, /install, /kernel/*.
#pragma once

#include <functional>
#include <string>

#include "core/worker_pool.h"

namespace moccha::exec {
class Engine;
}
namespace moccha::store {
class Database;
class OutputStore;
}  // namespace moccha::store
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct ExecApiDeps {
  exec::Engine* engine;
  store::Database* db;
  store::OutputStore* outputs;  // outputs past output_limit, kept whole
  Post quick;                   // SQLite reads: history, tasks
  Post jobs;                    // shell commands and pip: may take minutes

  std::string workspace;
  std::string python;
  double shell_default_timeout_s = 30;
  double shell_max_timeout_s = 3600;
  std::size_t output_limit = 16u << 20;
  std::string pip_index_url;
  double pip_timeout_s = 600;
};

void add_exec_routes(http::Router& router, ExecApiDeps deps);

}  // namespace moccha::api
