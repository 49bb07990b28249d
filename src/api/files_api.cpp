#include "api/files_api.h"

#include <malloc.h>

#include <limits>
#include <memory>

#include "api/files_download.h"
#include "api/work.h"
#include "files/file_ops.h"
#include "files/listing.h"
#include "files/multipart.h"
#include "files/paths.h"
#include "http/router.h"

namespace moccha::api {

namespace s = http::schema;
namespace files_routes {
namespace {

namespace fs = std::filesystem;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

// Runs `f` on the blocking pool and answers with what it returns or throws.
template <class F>
void off_thread(const FilesApiDeps& d, Responder respond, F f) {
  answer_on(d.blocking, std::move(respond), std::move(f));
}

bool bool_value(const std::string& v, bool fallback) {
  if (v.empty()) return fallback;
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw ApiError(400, "expected true or false, got '" + v + "'");
}

// A non-negative integer query parameter, if given; a 400 otherwise.
std::optional<std::size_t> count_query(const ApiRequest& req, const char* name) {
  auto v = http::optional_int_query(req, name, 0, std::numeric_limits<long long>::max());
  return v ? std::optional<std::size_t>(static_cast<std::size_t>(*v)) : std::nullopt;
}

json stored_json(const files::AtomicWriter& w) {
  return {{"filename", w.final_path().filename().string()},
          {"path", w.final_path().string()},
          {"size", w.size()},
          {"success", true}};
}

// POST /upload: multipart/form-data with `file` parts (any number) and optional `path` and
// `overwrite` fields, which must come before the files they apply to (curl -F keeps order).
// ?path= and ?overwrite= work too. All of a request's files are stored or none: each is
// written under a temporary name, and they are renamed into place together once the whole
// body has been read and checked.
class UploadSink : public http::BodySink {
 public:
  UploadSink(const FilesApiDeps& d, const ApiRequest& req, std::string boundary)
      : deps_(d),
        dest_(req.query_or("path")),
        overwrite_(bool_value(req.query_or("overwrite"), true)),
        parser_(std::move(boundary),
                {[this](const files::PartHeaders& h) { begin(h); },
                 [this](const char* p, std::size_t n) { data(p, n); }, [this] { end(); }}) {
    resolve_dest();  // refuse a forbidden destination before the body
  }

  void write(const char* data, std::size_t size) override {
    try {
      parser_.feed(data, size);
    } catch (const files::MultipartError& e) {
      throw ApiError(400, "malformed multipart body", e.what());
    } catch (...) {
      rethrow_as_api_error();
    }
  }

  ApiResponse finish() override {
    if (!parser_.done()) throw ApiError(400, "malformed multipart body", "it ends early");
    if (written_.empty()) throw ApiError(400, "no file", "send the file in a part named 'file'");
    try {
      files::commit_all(written_);
    } catch (...) {
      rethrow_as_api_error();
    }
    json stored = json::array();
    for (const auto& w : written_) stored.push_back(stored_json(*w));
    json body = stored.front();
    body["files"] = std::move(stored);
    body["count"] = written_.size();
    return ApiResponse::ok(std::move(body));
  }

  void abort() override {
    writer_.reset();
    written_.clear();  // their temporary files go with them
  }

 private:
  void resolve_dest() {
    dest_dir_ = deps_.policy->resolve(dest_, false);
    files::make_dirs(*deps_.policy, dest_dir_);
  }

  void begin(const files::PartHeaders& h) {
    field_ = h.name;
    value_.clear();
    if (!h.filename) return;
    if (h.name != "file") throw ApiError(400, "unexpected file part '" + h.name + "'");
    if (!files::valid_file_name(*h.filename))
      throw ApiError(400, "invalid file name",
                     "a name must not be empty, '.', '..', or hold '/' or NUL");
    fs::path target = deps_.policy->resolve((dest_dir_ / *h.filename).string(), false);
    if (target.parent_path() != dest_dir_)
      throw ApiError(403, "forbidden", "name leaves the destination");
    writer_ =
        std::make_unique<files::AtomicWriter>(*deps_.policy, target, deps_.temp_dir, overwrite_);
  }

  void data(const char* p, std::size_t n) {
    if (writer_) return writer_->write(p, n);
    if (value_.size() + n > 64 * 1024) throw ApiError(400, "form field too large", field_);
    value_.append(p, n);
  }

  void end() {
    if (writer_) {
      writer_->close();
      written_.push_back(std::move(writer_));
      return;
    }
    if (field_ == "path") {
      if (!written_.empty())
        throw ApiError(400, "the 'path' field must come before the files it applies to");
      dest_ = value_;
      resolve_dest();
    } else if (field_ == "overwrite") {
      overwrite_ = bool_value(value_, true);
    }
  }

  const FilesApiDeps& deps_;
  std::string dest_;
  fs::path dest_dir_;
  bool overwrite_;
  files::MultipartParser parser_;
  std::unique_ptr<files::AtomicWriter> writer_;                // the part being read
  std::vector<std::unique_ptr<files::AtomicWriter>> written_;  // whole, not yet in place
  std::string field_, value_;
};

// PUT /files/{path}: the raw body is the file.
class PutSink : public http::BodySink {
 public:
  PutSink(const FilesApiDeps& d, const ApiRequest& req) {
    fs::path target = d.policy->resolve(req.params.at("path"), false);
    bool overwrite = bool_value(req.query_or("overwrite"), true);
    std::error_code ec;
    if (fs::is_directory(target, ec)) throw ApiError(409, "conflict", "a directory has that name");
    if (!overwrite && fs::exists(target, ec))
      throw ApiError(409, "conflict", target.filename().string() + " already exists");
    // A file where a parent should be is a 409 (make_dirs says so), not a 500.
    files::make_dirs(*d.policy, target.parent_path());
    writer_ = std::make_unique<files::AtomicWriter>(*d.policy, target, d.temp_dir, overwrite);
  }
  void write(const char* data, std::size_t size) override {
    try {
      writer_->write(data, size);
    } catch (...) {
      rethrow_as_api_error();
    }
  }
  ApiResponse finish() override {
    try {
      writer_->commit();
      writer_->finalize();
      return ApiResponse::ok(stored_json(*writer_));
    } catch (...) {
      rethrow_as_api_error();
    }
  }
  void abort() override { writer_->abort(); }

 private:
  std::unique_ptr<files::AtomicWriter> writer_;
};

template <class F>
auto files_errors(F f) {
  try {
    return f();
  } catch (...) {
    rethrow_as_api_error();
  }
}

using D = std::shared_ptr<FilesApiDeps>;

// The handlers, one per route: each reads its parameters on the I/O thread, then touches the
// disk on the blocking pool. The table is below.

void list(const D& d, ApiRequest& req, Responder respond) {
  std::string path = req.query_or("path");
  files::ListOptions o;
  std::string why;
  if (!files::parse_sort(req.query_or("sort"), req.query_or("order"), o, why))
    throw ApiError(400, "invalid query parameter", why);
  o.offset = count_query(req, "offset").value_or(0);
  o.limit = count_query(req, "limit");
  off_thread(*d, std::move(respond), [d, path, o] {
    fs::path dir = d->policy->resolve(path);
    std::vector<files::Entry> entries = files::list_dir(*d->policy, dir);
    ApiResponse r;
    r.body = files::listing_json(dir.string(), entries, o);
    bool large = entries.size() > 10000;
    entries = {};
    // A big listing's memory goes back to the system, not to malloc's free lists.
    if (large) ::malloc_trim(0);
    return r;
  });
}

void remove(const D& d, ApiRequest& req, Responder respond) {
  std::string path = req.query_or("path");
  if (path.empty()) throw ApiError(400, "missing query parameter 'path'");
  bool recursive = bool_value(req.query_or("recursive"), false);
  off_thread(*d, std::move(respond), [d, path, recursive] {
    fs::path p = d->policy->resolve(path);
    if (p == d->policy->workspace() || p == p.root_path())
      throw ApiError(403, "forbidden", "refusing to delete " + p.string());
    files::remove_path(*d->policy, p, recursive);
    return ApiResponse::ok({{"success", true}, {"deleted", p.string()}});
  });
}

void mkdir(const D& d, ApiRequest& req, Responder respond) {
  std::string path = http::require_string(req.json, "path");
  bool parents = http::optional_bool(req.json, "parents").value_or(true);
  off_thread(*d, std::move(respond), [d, path, parents] {
    fs::path p = d->policy->resolve(path, false);
    files::make_dir(*d->policy, p, parents);
    return ApiResponse{201, {{"success", true}, {"path", p.string()}}};
  });
}

void move(const D& d, ApiRequest& req, Responder respond) {
  std::string from = http::require_string(req.json, "from");
  std::string to = http::require_string(req.json, "to");
  bool overwrite = http::optional_bool(req.json, "overwrite").value_or(false);
  off_thread(*d, std::move(respond), [d, from, to, overwrite] {
    fs::path src = d->policy->resolve(from);
    fs::path dst = d->policy->resolve(to, false);
    files::move_path(*d->policy, src, dst, overwrite);
    return ApiResponse::ok({{"success", true}, {"from", src.string()}, {"to", dst.string()}});
  });
}

std::unique_ptr<http::BodySink> open_upload(const D& d, ApiRequest& req) {
  auto boundary = files::multipart_boundary(req.headers["content-type"]);
  if (!boundary)
    throw ApiError(400, "expected multipart/form-data",
                   "send the file as a form part named 'file' (or PUT /files/{path})");
  return files_errors([&] { return std::make_unique<UploadSink>(*d, req, *boundary); });
}

std::unique_ptr<http::BodySink> open_put(const D& d, ApiRequest& req) {
  return files_errors([&] { return std::make_unique<PutSink>(*d, req); });
}

}  // namespace
}  // namespace files_routes

void add_files_routes(http::Router& router, FilesApiDeps deps) {
  using namespace files_routes;
  auto d = std::make_shared<FilesApiDeps>(std::move(deps));
  auto bound = [&d](auto f) { return handler(d, f); };

  router.add(
      {"GET", "/files", bound(list)},
      {"files",
       "List a directory, paged and sorted",
       {{"path", "The directory (default: the workspace)"},
        {"sort", "type, name, size or modified; - in front reverses"},
        {"order", "asc or desc"},
        {"offset", "Entries to skip", "integer"},
        {"limit", "Entries to return", "integer"}},
       nullptr,
       s::object({{"path", s::string()},
                  {"items", s::array(s::object({{"name", s::string()},
                                                {"type", s::string("file, dir, symlink or other")},
                                                {"size", s::integer()},
                                                {"modified", s::string()}},
                                               {"name", "type"}))},
                  {"total", s::integer()},
                  {"offset", s::integer()},
                  {"next_offset", s::nullable(s::integer())}},
                 {"path", "items", "total"}),
       "",
       {400, 403, 404}});

  router.add({"DELETE", "/files", bound(remove)},
             {"files",
              "Delete a file, or a directory (recursive=true for a non-empty one)",
              {{"path", "What to delete"},
               {"recursive", "true to delete a directory and what it holds", "boolean"}},
              nullptr,
              s::reply({{"deleted", s::string()}}, {"deleted"}),
              "",
              {400, 403, 404, 409}});

  router.add({"POST", "/files/mkdir", bound(mkdir), http::BodyKind::json},
             {"files",
              "Make a directory (and its parents)",
              {},
              s::object({{"path", s::string()}, {"parents", s::boolean()}}, {"path"}),
              s::reply({{"path", s::string()}}, {"path"}),
              "",
              {403, 409},
              {{"path", "projects/new"}},
              201});

  router.add({"POST", "/files/move", bound(move), http::BodyKind::json},
             {"files",
              "Move or rename a file or directory",
              {},
              s::object({{"from", s::string()}, {"to", s::string()}, {"overwrite", s::boolean()}},
                        {"from", "to"}),
              s::reply({{"from", s::string()}, {"to", s::string()}}, {"from", "to"}),
              "",
              {403, 404, 409},
              {{"from", "a.txt"}, {"to", "b.txt"}}});

  http::Route upload{"POST", "/upload", nullptr, http::BodyKind::stream};
  upload.open_sink = [d](ApiRequest& req) { return open_upload(d, req); };

  router.add(std::move(upload), {"files",
                                 "Upload files (multipart/form-data: path and overwrite fields, "
                                 "then file parts); all or none are stored",
                                 {{"path", "The destination directory"},
                                  {"overwrite", "false to refuse a name taken", "boolean"}},
                                 nullptr,
                                 s::reply({{"files", s::array(s::object({{"filename", s::string()},
                                                                         {"path", s::string()},
                                                                         {"size", s::integer()}},
                                                                        {"path", "size"}))},
                                           {"count", s::integer()}},
                                          {"files", "count"}),
                                 "",
                                 {400, 403, 409, 413, 507}});

  http::Route put{"PUT", "/files/{path*}", nullptr, http::BodyKind::stream};
  put.open_sink = [d](ApiRequest& req) { return open_put(d, req); };

  router.add(std::move(put),
             {"files",
              "Write one file from the raw body, atomically",
              {{"overwrite", "false to refuse a name taken", "boolean"}},
              nullptr,
              s::reply({{"path", s::string()}, {"size", s::integer()}}, {"path", "size"}),
              "",
              {400, 403, 409, 413, 507}});

  add_download_routes(router, d);
}

}  // namespace moccha::api
