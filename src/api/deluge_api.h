// Routes under /services/deluge/: torrents, session stats and peers, over Deluge's RPC.
#pragma once

#include <functional>

#include "core/worker_pool.h"

namespace moccha::deluge {
class DelugeService;
}
namespace moccha::files {
class PathPolicy;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_deluge_routes(http::Router& router, deluge::DelugeService* deluge,
                       const files::PathPolicy* paths,
                       Post daemons);  // every call is an RPC to deluged

}  // namespace moccha::api
