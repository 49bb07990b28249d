// Routes under /services/mega beyond the service's lifecycle: quota, the account's files by
// path, links, and transfers up and down (local paths checked against files.roots).
#pragma once

#include "core/worker_pool.h"

namespace moccha::mega {
class MegaService;
}
namespace moccha::files {
class PathPolicy;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_mega_routes(http::Router& router, mega::MegaService* service,
                     const files::PathPolicy* paths, Post daemons);

}  // namespace moccha::api
