#include "api/openapi.h"

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>

#include "http/router.h"

namespace moccha::api {
namespace {

using nlohmann::json;

// The statuses any authenticated route may answer, whatever it does.
constexpr int kCommon[] = {401, 429, 500, 503};

const char* reason(int status) {
  switch (status) {
    case 101:
      return "Switching protocols: the WebSocket is open";
    case 206:
      return "Partial content (a Range request)";
    case 304:
      return "Not modified (a conditional request)";
    case 400:
      return "Bad request: a field, a value or the body is wrong (the error says which)";
    case 401:
      return "No API key, or a wrong one";
    case 403:
      return "Forbidden: outside files.roots, or a symlink swapped in meanwhile";
    case 404:
      return "Not found";
    case 409:
      return "Conflict with the current state";
    case 413:
      return "The body is over the route's limit";
    case 416:
      return "Range not satisfiable";
    case 426:
      return "Upgrade required: open it with a WebSocket client";
    case 429:
      return "Rate limit exceeded (Retry-After says when to try again)";
    case 500:
      return "Internal error";
    case 501:
      return "Not built in this version";
    case 502:
      return "The engine or the far end answered something unusable, or refused";
    case 503:
      return "Not available now: the service is stopped, or the agent is shutting down";
    case 507:
      return "Insufficient storage: the disk is full";
  }
  return "Error";
}

// "/download/{filepath*}" -> "/download/{filepath}", and the names of its parameters.
std::string openapi_path(const std::string& pattern,
                         std::vector<std::pair<std::string, bool>>& params) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '{') {
      out += pattern[i++];
      continue;
    }
    std::size_t end = pattern.find('}', i);
    std::string name = pattern.substr(i + 1, end - i - 1);
    bool rest = name.ends_with('*');
    if (rest) name.pop_back();
    params.emplace_back(name, rest);
    out += "{" + name + "}";
    i = end + 1;
  }
  return out;
}

json error_schema() {
  return {{"type", "object"},
          {"required", {"success", "error"}},
          {"properties",
           {{"success", {{"const", false}}},
            {"error", {{"type", "string"}, {"description", "What went wrong, short"}}},
            {"message", {{"type", "string"}, {"description", "What to do about it"}}}}}};
}

json operation(const http::Route& route) {
  const http::RouteDoc& d = route.doc;
  json op = {{"summary", d.summary}, {"tags", {d.tag}}};
  op["operationId"] = route.method + route.pattern;
  std::vector<std::pair<std::string, bool>> path_params;
  openapi_path(route.pattern, path_params);
  json params = json::array();
  for (const auto& [name, rest] : path_params) {
    json p = {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
    if (rest) p["description"] = "The rest of the path, slashes included";
    params.push_back(std::move(p));
  }
  for (const auto& q : d.query)
    params.push_back({{"name", q.name},
                      {"in", "query"},
                      {"required", false},
                      {"description", q.description},
                      {"schema", {{"type", q.type}}}});
  if (!params.empty()) op["parameters"] = std::move(params);

  if (!d.request.is_null()) {
    json media = {{"schema", d.request}};
    if (!d.example.is_null()) media["example"] = d.example;
    op["requestBody"] = {{"required", true}, {"content", {{"application/json", media}}}};
  } else if (route.body == http::BodyKind::stream) {
    op["requestBody"] = {{"required", true},
                         {"content",
                          {{"multipart/form-data", {{"schema", {{"type", "object"}}}}},
                           {"application/octet-stream", {{"schema", {{"type", "string"}}}}}}}};
  }

  json ok = {{"description", d.ok_status == 201 ? "Created" : "OK"}};
  if (d.ok_status == 101)
    ok = {{"description", reason(101)}};
  else if (!d.produces.empty())
    ok["content"] = {{d.produces, {{"schema", {{"type", "string"}}}}}};
  else
    ok["content"] = {{"application/json",
                      {{"schema", d.response.is_null() ? json{{"type", "object"}} : d.response}}}};
  json responses = {{std::to_string(d.ok_status), ok}};
  std::vector<int> statuses(d.errors.begin(), d.errors.end());
  if (!route.is_public) statuses.insert(statuses.end(), std::begin(kCommon), std::end(kCommon));
  if (route.body != http::BodyKind::none) statuses.insert(statuses.end(), {400, 413});
  std::sort(statuses.begin(), statuses.end());
  statuses.erase(std::unique(statuses.begin(), statuses.end()), statuses.end());
  for (int s : statuses) {
    if (s < 400) {
      responses[std::to_string(s)] = {{"description", reason(s)}};
      continue;
    }
    responses[std::to_string(s)] = {{"$ref", "#/components/responses/E" + std::to_string(s)}};
  }
  op["responses"] = std::move(responses);
  if (route.is_public) op["security"] = json::array();
  return op;
}

}  // namespace

json openapi_document(const http::Router& router, const std::string& version) {
  json paths = json::object();
  std::map<int, bool> used;
  for (const auto& route : router.routes()) {
    if (route.doc.summary.empty())
      throw std::logic_error("route " + route.method + " " + route.pattern +
                             " has no summary: document it where it is added");
    std::vector<std::pair<std::string, bool>> ignored;
    std::string path = openapi_path(route.pattern, ignored);
    std::string method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    json op = operation(route);
    for (const auto& [code, r] : op["responses"].items())
      if (r.contains("$ref")) used[std::stoi(code)] = true;
    paths[path][method] = std::move(op);
  }
  json responses = json::object();
  for (const auto& [code, _] : used)
    responses["E" + std::to_string(code)] = {
        {"description", reason(code)},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
  return {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "Moccha agent API"},
        {"version", version},
        {"description",
         "The HTTP/JSON API of `moccha serve`. Every route but GET /health takes the API key in "
         "X-API-Key or Authorization: Bearer. Errors are {\"success\": false, \"error\", "
         "\"message\"}. Generated from the agent's route table."}}},
      {"servers", {{{"url", "/"}}}},
      {"security", {{{"ApiKey", json::array()}}, {{"Bearer", json::array()}}}},
      {"paths", std::move(paths)},
      {"components",
       {{"securitySchemes",
         {{"ApiKey", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}},
          {"Bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
        {"schemas", {{"Error", error_schema()}}},
        {"responses", std::move(responses)}}}};
}

void add_openapi_route(http::Router& router, const std::string& version) {
  http::Route route{"GET", "/openapi.json", nullptr};
  route.doc = {"agent", "This document: every route, its parameters, bodies and replies"};
  // Made once, with itself in it: the table does not change while the agent serves.
  auto doc = std::make_shared<std::string>();
  route.handler = http::sync([doc](const http::ApiRequest&) {
    http::ApiResponse r;
    r.body = *doc;
    return r;
  });
  router.add(std::move(route));
  *doc = openapi_document(router, version).dump() + "\n";
}

}  // namespace moccha::api
