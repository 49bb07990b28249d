#include "api/mega_api.h"

#include "api/work.h"
#include "files/paths.h"
#include "http/router.h"
#include "services/mega/mega_service.h"

namespace moccha::api {
namespace mega_routes {
namespace {

namespace s = http::schema;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using nlohmann::json;

struct Deps {
  mega::MegaService* mega;
  const files::PathPolicy* paths;
};
using D = std::shared_ptr<const Deps>;

// The handlers, one each, run on the daemons pool (each asks MEGA); the table is below.

ApiResponse done(std::string message) {
  return ApiResponse::ok({{"success", true}, {"message", std::move(message)}});
}

ApiResponse quota(const D& d, const ApiRequest&) {
  json q = d->mega->quota();
  q["success"] = true;
  return ApiResponse::ok(std::move(q));
}

ApiResponse files(const D& d, const ApiRequest& req) {
  json out = d->mega->list(req.query_or("path", "/"));
  out["success"] = true;
  return ApiResponse::ok(std::move(out));
}

ApiResponse mkdir(const D& d, const ApiRequest& req) {
  std::string path = http::require_string(req.json, "path");
  d->mega->mkdir(path);
  return done("Folder " + path + " made");
}

ApiResponse move(const D& d, const ApiRequest& req) {
  d->mega->move(http::require_string(req.json, "from"), http::require_string(req.json, "to"));
  return done("Moved");
}

ApiResponse rename(const D& d, const ApiRequest& req) {
  d->mega->rename(http::require_string(req.json, "path"), http::require_string(req.json, "name"));
  return done("Renamed");
}

ApiResponse remove(const D& d, const ApiRequest& req) {
  bool permanent = http::optional_bool(req.json, "permanent").value_or(false);
  d->mega->remove(http::require_string(req.json, "path"), permanent);
  return done(permanent ? "Deleted" : "Moved to the Rubbish Bin");
}

ApiResponse link(const D& d, const ApiRequest& req) {
  return ApiResponse::ok(
      {{"success", true}, {"link", d->mega->link(http::require_string(req.json, "path"))}});
}

ApiResponse upload(const D& d, const ApiRequest& req) {
  auto local = d->paths->resolve(http::require_string(req.json, "local_path"));
  std::string id =
      d->mega->upload(local, http::optional_string(req.json, "remote_dir").value_or("/"));
  return ApiResponse::ok({{"success", true}, {"transfer_id", id}});
}

ApiResponse download(const D& d, const ApiRequest& req) {
  auto path = http::optional_string(req.json, "path");
  auto link = http::optional_string(req.json, "link");
  if (path.has_value() == link.has_value())
    throw ApiError(400, "invalid request", "send one of 'path' (in MEGA) or 'link'");
  auto dir = http::optional_string(req.json, "local_dir");
  std::filesystem::path local =
      dir ? d->paths->resolve(*dir, false) : std::filesystem::path(d->mega->download_path());
  std::string id = d->mega->download(path ? *path : *link, local);
  return ApiResponse::ok({{"success", true}, {"transfer_id", id}});
}

ApiResponse transfers(const D& d, const ApiRequest&) {
  json list = d->mega->transfers();
  return ApiResponse::ok({{"success", true}, {"count", list.size()}, {"transfers", list}});
}

ApiResponse transfer(const D& d, const ApiRequest& req) {
  return ApiResponse::ok({{"success", true}, {"transfer", d->mega->transfer(req.params.at("id"))}});
}

ApiResponse cancel(const D& d, const ApiRequest& req) {
  d->mega->cancel(req.params.at("id"));
  return done("Transfer cancelled");
}

json transfer_schema() {
  return s::object({{"id", s::string()},
                    {"direction", s::string("up or down")},
                    {"name", s::string()},
                    {"state", s::string("queued, active, completed, failed or canceled")},
                    {"progress", s::number("0-100")},
                    {"bytes_total", s::integer()},
                    {"bytes_done", s::integer()},
                    {"speed", s::integer("bytes/s")},
                    {"eta", s::nullable(s::integer("seconds"))},
                    {"error", s::nullable(s::string())}},
                   {"id", "direction", "name", "state", "progress", "bytes_total", "bytes_done"});
}

}  // namespace
}  // namespace mega_routes

void add_mega_routes(http::Router& router, mega::MegaService* mega, const files::PathPolicy* paths,
                     Post daemons) {
  using namespace mega_routes;
  auto deps = std::make_shared<const Deps>(Deps{mega, paths});
  auto run = [deps, daemons](auto f) { return on_pool(deps, daemons, f); };
  const json message = s::reply({{"message", s::string()}}, {"message"});
  const std::vector<int> errors = {400, 404, 502, 503};
  const std::string prefix = "/services/mega/";
  router.add({"GET", prefix + "quota", run(quota)},
             {"mega",
              "The account's storage and transfer quota",
              {},
              nullptr,
              s::reply({{"storage_used", s::integer("bytes")},
                        {"storage_total", s::integer("bytes")},
                        {"transfer_used", s::nullable(s::integer("bytes"))},
                        {"transfer_total", s::nullable(s::integer("bytes"))},
                        {"account_type", s::string()}},
                       {"storage_used", "storage_total", "account_type"}),
              "",
              {502, 503}});
  router.add({"GET", prefix + "files", run(files)},
             {"mega",
              "A folder of the account ('/' the Cloud Drive, '/Rubbish' the Rubbish Bin)",
              {{"path", "The folder (default '/')"}},
              nullptr,
              s::reply({{"path", s::string()},
                        {"items", s::array(s::object({{"name", s::string()},
                                                      {"type", s::string("file or dir")},
                                                      {"size", s::integer()},
                                                      {"modified", s::string()},
                                                      {"handle", s::string()}},
                                                     {"name", "type", "handle"}))}},
                       {"path", "items"}),
              "",
              errors});
  router.add({"POST", prefix + "mkdir", run(mkdir), http::BodyKind::json},
             {"mega",
              "Make a folder, and its parents",
              {},
              s::object({{"path", s::string()}}, {"path"}),
              message,
              "",
              {400, 409, 502, 503},
              {{"path", "/backups/2026"}}});
  router.add({"POST", prefix + "move", run(move), http::BodyKind::json},
             {"mega",
              "Move a file or folder into a folder",
              {},
              s::object({{"from", s::string()}, {"to", s::string("a folder")}}, {"from", "to"}),
              message,
              "",
              errors});
  router.add({"POST", prefix + "rename", run(rename), http::BodyKind::json},
             {"mega",
              "Rename a file or folder",
              {},
              s::object({{"path", s::string()}, {"name", s::string()}}, {"path", "name"}),
              message,
              "",
              errors});
  router.add({"POST", prefix + "delete", run(remove), http::BodyKind::json},
             {"mega",
              "Delete: to the Rubbish Bin, or for good with permanent",
              {},
              s::object({{"path", s::string()}, {"permanent", s::boolean()}}, {"path"}),
              message,
              "",
              errors});
  router.add({"POST", prefix + "link", run(link), http::BodyKind::json},
             {"mega",
              "A public link to a file or folder",
              {},
              s::object({{"path", s::string()}}, {"path"}),
              s::reply({{"link", s::string()}}, {"link"}),
              "",
              errors});
  router.add({"POST", prefix + "upload", run(upload), http::BodyKind::json},
             {"mega",
              "Upload a local file or folder into a MEGA folder (a transfer)",
              {},
              s::object({{"local_path", s::string()}, {"remote_dir", s::string("default '/'")}},
                        {"local_path"}),
              s::reply({{"transfer_id", s::string()}}, {"transfer_id"}),
              "",
              {400, 403, 404, 502, 503, 507},
              {{"local_path", "/root/report.pdf"}, {"remote_dir", "/"}}});
  router.add({"POST", prefix + "download", run(download), http::BodyKind::json},
             {"mega",
              "Download a path of the account or a public link into a local folder (a transfer)",
              {},
              s::object({{"path", s::string()},
                         {"link", s::string("https://mega.nz/file/...#KEY or /folder/")},
                         {"local_dir", s::string("default: download_path")}}),
              s::reply({{"transfer_id", s::string()}}, {"transfer_id"}),
              "",
              {400, 403, 404, 409, 502, 503}});
  router.add({"GET", prefix + "transfers", run(transfers)},
             {"mega",
              "Every transfer of this run",
              {},
              nullptr,
              s::reply({{"transfers", s::array(transfer_schema())}, {"count", s::integer()}},
                       {"transfers", "count"}),
              "",
              {503}});
  router.add({"GET", prefix + "transfers/{id}", run(transfer)},
             {"mega",
              "One transfer",
              {},
              nullptr,
              s::reply({{"transfer", transfer_schema()}}, {"transfer"}),
              "",
              {404}});
  router.add({"POST", prefix + "transfers/{id}/cancel", run(cancel), http::BodyKind::json},
             {"mega", "Cancel a transfer", {}, nullptr, message, "", {404}});
}

}  // namespace moccha::api
