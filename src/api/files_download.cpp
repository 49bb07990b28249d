#include "api/files_download.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "api/file_reply.h"
#include "api/work.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/time_util.h"
#include "files/archive.h"
#include "files/paths.h"
#include "http/router.h"

namespace moccha::api {

namespace s = http::schema;
namespace {

namespace fs = std::filesystem;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;

constexpr std::size_t kPiece = 1u << 20;
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

// A directory archive's pieces, made on the pool: reading the files and compressing them may
// block and take CPU, which the I/O thread must never do. A piece in progress keeps the stream
// alive if the client goes away meanwhile. A failure mid-way ends the body without the
// archive's end, which every reader sees as a broken archive.
class ArchiveBody : public http::BodyStream, public std::enable_shared_from_this<ArchiveBody> {
 public:
  ArchiveBody(const fs::path& dir, files::UniqueFd root, files::ArchiveFormat format, Post pool)
      : archive_(dir, std::move(root), format), pool_(std::move(pool)), name_(dir.string()) {}
  void next(std::function<void(std::optional<std::string>)> deliver) override {
    pool_([self = shared_from_this(), deliver = std::move(deliver)] {
      std::optional<std::string> piece;
      try {
        piece = self->archive_.next(kPiece);
      } catch (const std::exception& e) {
        log::error("archive of {} cut short: {}", self->name_, e.what());
      }
      deliver(std::move(piece));
    });
  }

 private:
  files::ArchiveStream archive_;
  Post pool_;
  std::string name_;
};

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
        static_cast<std::uint64_t>(st.st_size) > kSmallFileBytes)
      return std::nullopt;
  } else if (::fstat(fd.get(), &st) != 0) {
    throw files::Error(files::Code::io, "cannot stat " + user_path);
  }
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    throw ApiError(
        400, "not a regular file",
        user_path + " is a device, FIFO or socket; only files and directories are served");
  if (S_ISDIR(st.st_mode)) {
    // ?format=tar|tar.gz|zip (?archive=tar, the first name, still works).
    std::string name = req.query_or("format", req.query_or("archive"));
    auto format = files::parse_archive_format(name);
    if (!format)
      throw ApiError(400, name.empty() ? "is a directory" : "unknown archive format",
                     "add ?format=tar, ?format=tar.gz or ?format=zip to download a directory as "
                     "an archive");
    ApiResponse resp;
    resp.content_type = files::archive_media_type(*format);
    resp.headers.emplace_back(
        "Content-Disposition",
        content_disposition(p.filename().string() + files::archive_extension(*format)));
    resp.stream = std::make_shared<ArchiveBody>(p, std::move(fd), *format, d.blocking);
    return resp;
  }
  // Files of the kernel's (/proc, /sys) say they are empty and are not: read what they hold.
  std::optional<std::string> content;
  if (st.st_size == 0) content = read_pseudo_file(fd.get(), user_path);
  FileReply reply{std::move(fd),      st,    content_type_for(p), p.filename().string(), user_path,
                  std::move(content), cached};
  return file_reply(req, std::move(reply));
}

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
  answer_on(d->blocking, std::move(respond),
            [d, own = std::make_shared<const ApiRequest>(req), path] {
              return *download(*d, *own, path, false);
            });
}

}  // namespace

void add_download_routes(http::Router& router, std::shared_ptr<FilesApiDeps> d) {
  router.add({"GET", "/download/{filepath*}",
              [d](ApiRequest& req, Responder respond) {
                serve_download(d, req, req.params.at("filepath"), std::move(respond));
              }},
             {"files",
              "Download a file (Range, If-None-Match), or a directory as an archive",
              {{"format", "tar, tar.gz or zip: a directory as that archive"}},
              nullptr,
              nullptr,
              "application/octet-stream",
              {206, 304, 400, 403, 404, 416}});
  router.add({"GET", "/download",
              [d](ApiRequest& req, Responder respond) {
                std::string path = req.query_or("path");
                if (path.empty()) throw ApiError(400, "missing query parameter 'path'");
                serve_download(d, req, path, std::move(respond));
              }},
             {"files",
              "Download a file (Range, If-None-Match), or a directory as an archive",
              {{"format", "tar, tar.gz or zip: a directory as that archive"},
               {"path", "The file or directory"}},
              nullptr,
              nullptr,
              "application/octet-stream",
              {206, 304, 400, 403, 404, 416}});
}

}  // namespace moccha::api
