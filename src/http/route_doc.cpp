#include "http/route_doc.h"

namespace moccha::http::schema {
namespace {

json typed(const char* type, std::string description) {
  json s = {{"type", type}};
  if (!description.empty()) s["description"] = std::move(description);
  return s;
}

}  // namespace

json string(std::string description) {
  return typed("string", std::move(description));
}
json integer(std::string description) {
  return typed("integer", std::move(description));
}
json number(std::string description) {
  return typed("number", std::move(description));
}
json boolean(std::string description) {
  return typed("boolean", std::move(description));
}

json array(json items, std::string description) {
  json s = typed("array", std::move(description));
  s["items"] = std::move(items);
  return s;
}

json nullable(json s) {
  if (s.contains("type") && s["type"].is_string()) {
    s["type"] = json::array({s["type"], "null"});
    return s;
  }
  return {{"anyOf", json::array({std::move(s), {{"type", "null"}}})}};
}

json any(std::string description) {
  json s = json::object();
  if (!description.empty()) s["description"] = std::move(description);
  return s;
}

json object(Properties properties, std::vector<std::string> required) {
  json props = json::object();
  for (auto& [name, s] : properties) props[name] = std::move(s);
  json s = {{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) s["required"] = std::move(required);
  return s;
}

json reply(Properties properties, std::vector<std::string> required) {
  properties.insert(properties.begin(), {"success", {{"const", true}}});
  required.insert(required.begin(), "success");
  return object(std::move(properties), std::move(required));
}

json map(json values) {
  return {{"type", "object"}, {"additionalProperties", std::move(values)}};
}

}  // namespace moccha::http::schema
