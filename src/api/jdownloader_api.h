// Routes under /services/jdownloader beyond the service's lifecycle. The daemon, its config
// and its API client are built; the link, grabber, download and controller endpoints are not
// yet, and answer 501 saying so rather than 404 or pretend data.
#pragma once

namespace moccha::http {
class Router;
}

namespace moccha::api {

void add_jdownloader_routes(http::Router& router);

}  // namespace moccha::api
