// What the API's own document (GET /openapi.json, OpenAPI 3.1) says of a route. Each route
// carries its RouteDoc in the route table, so the document is made from the table and cannot
// drift from it; a route without a summary is refused when the document is made.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace moccha::http {

struct QueryParam {
  std::string name;
  std::string description;
  std::string type = "string";  // string | integer | number | boolean
};

struct RouteDoc {
  std::string tag;  // the capability it belongs to, as the document groups them
  std::string summary;
  std::vector<QueryParam> query;
  nlohmann::json request;   // JSON Schema of a JSON body; null: none
  nlohmann::json response;  // JSON Schema of the 200 reply; null: a JSON object
  std::string produces;     // the media type of a reply that is not JSON
  std::vector<int> errors;  // what it answers besides 200 and what any route may answer
  nlohmann::json example;   // a request body (the spec's own where it has one)
  int ok_status = 200;      // the status of success (201 for what creates)
};

// JSON Schema (2020-12, OpenAPI 3.1's dialect) for RouteDoc, short to write.
namespace schema {
using nlohmann::json;
using Properties = std::vector<std::pair<std::string, json>>;

json string(std::string description = {});
json integer(std::string description = {});
json number(std::string description = {});
json boolean(std::string description = {});
json array(json items, std::string description = {});
// The value or null.
json nullable(json s);
// Any JSON value.
json any(std::string description = {});
// An object with these properties (others allowed), `required` among them.
json object(Properties properties, std::vector<std::string> required = {});
// A reply object: `properties` and "success": true, all of `required` and success present.
json reply(Properties properties = {}, std::vector<std::string> required = {});
// A JSON object whose keys are free (a map), each value `values`.
json map(json values);

}  // namespace schema
}  // namespace moccha::http
