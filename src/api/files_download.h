// GET /download/{path} and GET /download?path=: files (ranges, conditional requests, small
// cached files answered without leaving the I/O thread) and directories as tar archives.
#pragma once

#include <memory>

#include "api/files_api.h"

namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_download_routes(http::Router& router, std::shared_ptr<FilesApiDeps> deps);

}  // namespace moccha::api
