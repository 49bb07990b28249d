// Routes of the file manager: /files (list, delete, mkdir, move, PUT), /upload, /download.
#pragma once

#include <functional>
#include <string>

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
  std::function<void(std::function<void()>)> blocking;
};

void add_files_routes(http::Router& router, FilesApiDeps deps);

}  // namespace moccha::api
