#include "api/logs_api.h"

#include <algorithm>
#include <fstream>
#include <memory>

#include "api/work.h"
#include "http/router.h"
#include "services/manager.h"

namespace moccha::api {

namespace s = http::schema;
namespace logs_routes {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;
using D = std::shared_ptr<const LogsApiDeps>;
namespace fs = std::filesystem;

constexpr long long kDefaultLimit = 64 << 10, kMaxLimit = 1 << 20;

std::vector<services::LogFile> all_logs(const D& d) {
  std::vector<services::LogFile> out{{"agent", d->agent_log}};
  for (auto& f : d->services->logs()) out.push_back(std::move(f));
  return out;
}

ApiResponse list(const D& d, const ApiRequest&) {
  json logs = json::array();
  for (const auto& f : all_logs(d)) {
    std::error_code ec;
    auto size = fs::file_size(f.path, ec);
    logs.push_back({{"name", f.name}, {"size", ec ? json(nullptr) : json(size)}});
  }
  return ApiResponse::ok({{"success", true}, {"logs", std::move(logs)}});
}

ApiResponse read(const D& d, const ApiRequest& req) {
  const std::string& name = req.params.at("name");
  auto logs = all_logs(d);
  auto it = std::find_if(logs.begin(), logs.end(), [&](const auto& f) { return f.name == name; });
  if (it == logs.end()) throw ApiError(404, "no such log", name);
  auto limit = http::optional_int_query(req, "limit", 1, kMaxLimit).value_or(kDefaultLimit);
  auto offset = http::optional_int_query(req, "offset", 0, 1ll << 50);
  std::ifstream in(it->path, std::ios::binary);
  std::error_code ec;
  long long size = in ? static_cast<long long>(fs::file_size(it->path, ec)) : 0;
  if (ec) size = 0;
  // A log rotated since the last read (it is now shorter): from its start again.
  bool rotated = offset && *offset > size;
  long long from = !offset ? std::max(0ll, size - limit) : rotated ? 0 : *offset;
  std::string text(static_cast<std::size_t>(std::min(limit, size - from)), '\0');
  if (!text.empty()) {
    in.seekg(from);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
  }
  long long next = from + static_cast<long long>(text.size());
  return ApiResponse::ok({{"success", true},
                          {"name", name},
                          {"size", size},
                          {"offset", from},
                          {"next", next},
                          {"rotated", rotated},
                          {"text", std::move(text)}});
}

}  // namespace
}  // namespace logs_routes

void add_logs_routes(http::Router& router, LogsApiDeps deps) {
  using namespace logs_routes;
  auto d = std::make_shared<const LogsApiDeps>(std::move(deps));
  auto run = [d](auto f) { return on_pool(d, d->pool, f); };
  router.add(
      {"GET", "/logs", run(list)},
      {"logs",
       "The logs there are: the agent's, and each started service's",
       {},
       nullptr,
       s::reply(
           {{"logs", s::array(s::object(
                         {{"name", s::string()}, {"size", s::nullable(s::integer())}}, {"name"}))}},
           {"logs"})});
  router.add({"GET", "/logs/{name}", run(read)},
             {"logs",
              "Read a log by bytes: `limit` from `offset`, or its last `limit` bytes",
              {{"offset", "Where to read from (the `next` of the last read, to follow)", "integer"},
               {"limit", "How many bytes (1-1048576, 65536)", "integer"}},
              nullptr,
              s::reply({{"name", s::string()},
                        {"size", s::integer()},
                        {"offset", s::integer()},
                        {"next", s::integer("Where the next read starts")},
                        {"rotated", s::boolean("The log began again since `offset`")},
                        {"text", s::string("Invalid UTF-8 shown as U+FFFD")}},
                       {"name", "size", "offset", "next", "text"}),
              "",
              {400, 404}});
}

}  // namespace moccha::api
