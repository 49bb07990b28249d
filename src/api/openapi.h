// GET /openapi.json: the API's OpenAPI 3.1 document, made from the route table itself (every
// route's RouteDoc), so it lists exactly what the agent serves.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace moccha::http {
class Router;
}

namespace moccha::api {

// The document of every route in `router`. Throws std::logic_error naming a route that has no
// summary: an undocumented route is a bug, found at start-up.
nlohmann::json openapi_document(const http::Router& router, const std::string& version);

// Adds GET /openapi.json, answering the document of `router` as it is when this is called
// (add it last).
void add_openapi_route(http::Router& router, const std::string& version);

}  // namespace moccha::api
