// Routes of the file manager: /files (list, delete, mkdir, move, PUT), /upload, /download.
#pragma once

#include <functional>
#include <string>

#include "core/worker_pool.h"

namespace moccha::files {
class PathPolicy;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

struct FilesApiDeps {
  const files::PathPolicy* policy;  // outlives the router
  std::string temp_dir;             // uploads in progress (swept at start)
  Post blocking;                    // the quick pool
};

void add_files_routes(http::Router& router, FilesApiDeps deps);

}  // namespace moccha::api
