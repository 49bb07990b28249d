// The dashboard's routes: its pages and files (public, Host-checked), the browser's login
// (/auth/session: the API key, or a one-time code, for an HttpOnly cookie) and the live
// figures its overview draws (/status/stream).
#pragma once

#include "core/worker_pool.h"

namespace moccha::http {
class Router;
}
namespace moccha::sys {
class Monitor;
}
namespace moccha::web {
class WebSessions;
}

namespace moccha::api {

struct WebApiDeps {
  web::WebSessions* sessions;
  sys::Monitor* monitor;
  Post quick;  // the session store's database writes
};

void add_web_routes(http::Router& router, WebApiDeps deps);

}  // namespace moccha::api
