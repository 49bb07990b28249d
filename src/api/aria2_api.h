// Routes under /services/aria2: downloads (add, list, one, pause, resume, remove) and stats.
#pragma once

#include "core/worker_pool.h"

namespace moccha::aria2 {
class Aria2Downloads;
}
namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_aria2_routes(http::Router& router, aria2::Aria2Downloads* downloads, Post daemons);

}  // namespace moccha::api
