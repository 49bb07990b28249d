// Routes under /services/jdownloader beyond the service's lifecycle: links, the link grabber,
// the download list and the download controller.
#pragma once

#include "core/worker_pool.h"

namespace moccha::jd {
class JdDownloads;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_jdownloader_routes(http::Router& router, jd::JdDownloads* downloads, Post daemons);

}  // namespace moccha::api
