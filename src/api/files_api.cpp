#include "api/files_api.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <charconv>
#include <memory>

#include "api/work.h"
#include "core/hex.h"
#include "core/time_util.h"
#include "files/file_ops.h"
#include "files/listing.h"
#include "files/multipart.h"
#include "files/paths.h"
#include "files/tar.h"
#include "http/router.h"

namespace moccha::api {
namespace {

namespace fs = std::filesystem;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

constexpr std::size_t kPiece = 1u << 20;
constexpr std::uint64_t kSmallFile = 64u << 10;  // sent from memory, not with sendfile

ApiResponse error_response(const ApiError& e) {
  return ApiResponse::error(e.status, e.what(), e.message);
}

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
  std::string v = req.query_or(name);
  if (v.empty()) return std::nullopt;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size())
    throw ApiError(400, "invalid query parameter",
                   std::string(name) + " must be a non-negative integer, got '" + v + "'");
  return n;
}

std::string content_type_for(const fs::path& p) {
  static const std::pair<const char*, const char*> types[] = {
      {".txt", "text/plain; charset=utf-8"},
      {".log", "text/plain; charset=utf-8"},
      {".py", "text/x-python; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css"},
      {".js", "text/javascript"},
      {".json", "application/json"},
      {".xml", "application/xml"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
      {".torrent", "application/x-bittorrent"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".svg", "image/svg+xml"},
      {".webp", "image/webp"},
      {".mp4", "video/mp4"},
      {".mkv", "video/x-matroska"},
      {".webm", "video/webm"},
      {".mp3", "audio/mpeg"},
      {".wav", "audio/wav"},
      {".ipynb", "application/x-ipynb+json"},
  };
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

// attachment; filename="ascii"; filename*=UTF-8''percent-encoded (RFC 6266).
std::string content_disposition(const std::string& name) {
  std::string ascii;
  for (unsigned char c : name)
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
  std::string encoded = percent_encode(name);
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

class TarBody : public http::BodyStream {
 public:
  TarBody(const fs::path& dir, files::UniqueFd root) : tar_(dir, std::move(root)) {}
  void next(std::function<void(std::optional<std::string>)> deliver) override {
    deliver(tar_.next(kPiece));
  }

 private:
  files::TarStream tar_;
};

struct Range {
  std::uint64_t first, last;  // inclusive
};

// One "bytes=" range. nullopt: no usable Range header (serve it all). Throws 416.
std::optional<Range> parse_range(const std::string& header, std::uint64_t size) {
  if (!header.starts_with("bytes=") || header.find(',') != std::string::npos) return std::nullopt;
  std::string_view spec = std::string_view(header).substr(6);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, std::uint64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  std::uint64_t a = 0, b = 0;
  std::string_view left = spec.substr(0, dash), right = spec.substr(dash + 1);
  Range r{};
  if (left.empty()) {  // the last N bytes
    if (!num(right, b)) return std::nullopt;
    if (b == 0 || size == 0) throw ApiError(416, "range not satisfiable");
    r = {size - std::min(b, size), size - 1};
  } else {
    if (!num(left, a) || (!right.empty() && !num(right, b))) return std::nullopt;
    if (!right.empty() && b < a) return std::nullopt;
    if (a >= size) throw ApiError(416, "range not satisfiable");
    r = {a, right.empty() ? size - 1 : std::min(b, size - 1)};
  }
  return r;
}

// A file that reports size 0, read to its end: empty for a truly empty file, the text of a
// /proc or /sys file. Past 16 MiB it is refused rather than sent short.
std::string read_pseudo_file(int fd, const std::string& shown) {
  constexpr std::size_t kMax = 16u << 20;
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EAGAIN) throw ApiError(400, "not readable", shown + " has nothing to read now");
      throw files::Error(files::Code::io, "read " + shown + ": " + std::strerror(errno));
    }
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMax)
      throw ApiError(400, "not a regular file",
                     shown + " reports size 0 but holds more than 16 MiB");
  }
}

// A download, on the pool (`cached` false: anything may block), or tried first on the I/O
// thread (`cached` true), where nothing may: the path must open from the dentry cache, the
// attributes come from the inode in memory (statx AT_STATX_DONT_SYNC, no server asked), and
// the data from the page cache (RWF_NOWAIT). In that mode anything else (a cold cache, a
// symlink to resolve, a directory, a large file, an error) is nullopt, and the pool does it.
std::optional<ApiResponse> download(const FilesApiDeps& d, const ApiRequest& req,
                                    const std::string& user_path, bool cached) {
  constexpr int kFlags = O_RDONLY | O_NONBLOCK | O_NOCTTY;
  // Opened once, race-free and without blocking (a FIFO would hold this thread in open()
  // forever); everything after is about that descriptor.
  std::optional<files::PathPolicy::Opened> opened;
  if (cached) {
    opened = d.policy->try_open_cached(user_path, kFlags);
    if (!opened) return std::nullopt;
  } else {
    opened = d.policy->resolve_and_open(user_path, kFlags);
  }
  const fs::path& p = opened->real;
  files::UniqueFd& fd = opened->fd;
  struct stat st {};
  if (cached) {
    struct statx sx {};
    if (::statx(fd.get(), "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) != 0)
      return std::nullopt;
    st.st_mode = sx.stx_mode;
    st.st_size = static_cast<off_t>(sx.stx_size);
    st.st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
    if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
        static_cast<std::uint64_t>(st.st_size) > kSmallFile)
      return std::nullopt;
  } else if (::fstat(fd.get(), &st) != 0) {
    throw files::Error(files::Code::io, "cannot stat " + user_path);
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    throw ApiError(
        400, "not a regular file",
        user_path + " is a device, FIFO or socket; only files and directories are served");
  if (S_ISDIR(st.st_mode)) {
    if (req.query_or("archive") != "tar")
      throw ApiError(400, "is a directory", "add ?archive=tar to download it as a tar archive");
    ApiResponse resp;
    resp.content_type = "application/x-tar";
    resp.headers.emplace_back("Content-Disposition",
                              content_disposition(p.filename().string() + ".tar"));
    resp.stream = std::make_shared<TarBody>(p, std::move(fd));
    return resp;
  }
  // Files of the kernel's (/proc, /sys) say they are empty and are not: read what they hold.
  std::optional<std::string> content;
  if (st.st_size == 0) content = read_pseudo_file(fd.get(), user_path);
  std::uint64_t size = content ? content->size() : static_cast<std::uint64_t>(st.st_size);
  std::int64_t mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  std::int64_t mtime_s = st.st_mtim.tv_sec;
  std::string etag = fmt::format("\"{:x}-{:x}\"", size, mtime_ns);
  std::string last_modified = http_date(mtime_s);
  ApiResponse resp;
  resp.headers = {{"ETag", etag}, {"Last-Modified", last_modified}, {"Accept-Ranges", "bytes"}};
  auto inm = req.headers.find("if-none-match");
  bool not_modified = false;
  if (inm != req.headers.end()) {
    not_modified = inm->second == "*" || inm->second.find(etag) != std::string::npos;
  } else if (auto ims = req.headers.find("if-modified-since"); ims != req.headers.end()) {
    auto since = parse_http_date(ims->second);
    not_modified = since && mtime_s <= *since;
  }
  if (not_modified) {
    resp.status = 304;
    resp.body = "";
    return resp;
  }
  std::uint64_t offset = 0, length = size;
  if (auto rh = req.headers.find("range"); rh != req.headers.end()) {
    try {
      if (auto r = parse_range(rh->second, size)) {
        offset = r->first;
        length = r->last - r->first + 1;
        resp.status = 206;
        resp.headers.emplace_back("Content-Range",
                                  fmt::format("bytes {}-{}/{}", r->first, r->last, size));
      }
    } catch (const ApiError& e) {
      ApiResponse bad = error_response(e);
      bad.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
      return bad;
    }
  }
  resp.content_type = content_type_for(p);
  resp.headers.emplace_back("Content-Disposition", content_disposition(p.filename().string()));
  if (content) {
    resp.body = content->substr(offset, length);
  } else if (length <= kSmallFile) {
    // Read now: the reply then goes out as one write, header and body together, instead of a
    // header write and a sendfile (two packets, two system calls).
    std::string data(length, '\0');
    std::size_t got = 0;
    while (got < length) {
      iovec iov{data.data() + got, length - got};
      ssize_t n =
          ::preadv2(fd.get(), &iov, 1, static_cast<off_t>(offset + got), cached ? RWF_NOWAIT : 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 && cached) return std::nullopt;  // not all of it in the page cache
      if (n <= 0) throw files::Error(files::Code::io, "read " + user_path + ": it shrank");
      got += static_cast<std::size_t>(n);
    }
    resp.body = std::move(data);
  } else {
    resp.file = std::make_shared<http::FileRange>(fd.release(), offset, length);
  }
  return resp;
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

// A small file whose path and data the kernel has cached is answered here, on the I/O thread,
// without blocking (download() with cached = true); everything else goes to the pool. The hop
// there and back costs about 20 us, a fifth of a small file's round trip.
void serve_download(const std::shared_ptr<FilesApiDeps>& d, const ApiRequest& req,
                    const std::string& path, Responder respond) {
  try {
    if (auto r = download(*d, req, path, true)) return respond(std::move(*r));
  } catch (...) {
    // Whatever it is, the pool's try says it properly.
  }
  off_thread(*d, std::move(respond), [d, &req, path] { return *download(*d, req, path, false); });
}

template <class F>
auto files_errors(F f) {
  try {
    return f();
  } catch (...) {
    rethrow_as_api_error();
  }
}

}  // namespace

void add_files_routes(http::Router& router, FilesApiDeps deps) {
  auto d = std::make_shared<FilesApiDeps>(std::move(deps));

  router.add({"GET", "/files", [d](ApiRequest& req, Responder respond) {
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
              }});

  router.add({"DELETE", "/files", [d](ApiRequest& req, Responder respond) {
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
              }});

  router.add({"POST", "/files/mkdir",
              [d](ApiRequest& req, Responder respond) {
                std::string path = http::require_string(req.json, "path");
                bool parents = http::optional_bool(req.json, "parents").value_or(true);
                off_thread(*d, std::move(respond), [d, path, parents] {
                  fs::path p = d->policy->resolve(path, false);
                  files::make_dir(*d->policy, p, parents);
                  return ApiResponse{201, {{"success", true}, {"path", p.string()}}};
                });
              },
              http::BodyKind::json});

  router.add({"POST", "/files/move",
              [d](ApiRequest& req, Responder respond) {
                std::string from = http::require_string(req.json, "from");
                std::string to = http::require_string(req.json, "to");
                bool overwrite = http::optional_bool(req.json, "overwrite").value_or(false);
                off_thread(*d, std::move(respond), [d, from, to, overwrite] {
                  fs::path src = d->policy->resolve(from);
                  fs::path dst = d->policy->resolve(to, false);
                  files::move_path(*d->policy, src, dst, overwrite);
                  return ApiResponse::ok(
                      {{"success", true}, {"from", src.string()}, {"to", dst.string()}});
                });
              },
              http::BodyKind::json});

  http::Route upload{"POST", "/upload", nullptr, http::BodyKind::stream};
  upload.open_sink = [d](ApiRequest& req) -> std::unique_ptr<http::BodySink> {
    auto boundary = files::multipart_boundary(req.headers["content-type"]);
    if (!boundary)
      throw ApiError(400, "expected multipart/form-data",
                     "send the file as a form part named 'file' (or PUT /files/{path})");
    return files_errors([&] { return std::make_unique<UploadSink>(*d, req, *boundary); });
  };
  router.add(std::move(upload));

  http::Route put{"PUT", "/files/{path*}", nullptr, http::BodyKind::stream};
  put.open_sink = [d](ApiRequest& req) -> std::unique_ptr<http::BodySink> {
    return files_errors([&] { return std::make_unique<PutSink>(*d, req); });
  };
  router.add(std::move(put));

  router.add({"GET", "/download/{filepath*}", [d](ApiRequest& req, Responder respond) {
                serve_download(d, req, req.params.at("filepath"), std::move(respond));
              }});
  router.add({"GET", "/download", [d](ApiRequest& req, Responder respond) {
                std::string path = req.query_or("path");
                if (path.empty()) throw ApiError(400, "missing query parameter 'path'");
                serve_download(d, req, path, std::move(respond));
              }});
}

}  // namespace moccha::api
