// Routes of the one download queue: GET/POST /downloads and POST /downloads/{id}/ACTION.
#pragma once

#include "core/worker_pool.h"

namespace moccha::services {
class DownloadQueue;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_downloads_routes(http::Router& router, services::DownloadQueue* queue, Post daemons);

}  // namespace moccha::api
