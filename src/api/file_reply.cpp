#include "api/file_reply.h"

#include <fmt/core.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>

#include "core/hex.h"
#include "core/time_util.h"
#include "files/paths.h"
#include "http/router.h"

namespace moccha::api {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;

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

}  // namespace

std::string content_disposition(const std::string& name) {
  std::string ascii;
  for (unsigned char c : name)
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
  std::string encoded = percent_encode(name);
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

std::optional<ApiResponse> file_reply(const ApiRequest& req, FileReply f) {
  std::uint64_t size = f.content ? f.content->size() : static_cast<std::uint64_t>(f.st.st_size);
  std::int64_t mtime_ns = f.st.st_mtim.tv_sec * 1000000000LL + f.st.st_mtim.tv_nsec;
  std::int64_t mtime_s = f.st.st_mtim.tv_sec;
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
      ApiResponse bad = ApiResponse::error(e.status, e.what(), e.message);
      bad.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
      return bad;
    }
  }
  resp.content_type = f.content_type;
  resp.headers.emplace_back("Content-Disposition", content_disposition(f.attachment_name));
  if (f.content) {
    resp.body = f.content->substr(offset, length);
  } else if (length <= kSmallFileBytes) {
    // Read now: the reply then goes out as one write, header and body together, instead of a
    // header write and a sendfile (two packets, two system calls).
    std::string data(length, '\0');
    std::size_t got = 0;
    while (got < length) {
      iovec iov{data.data() + got, length - got};
      ssize_t n = ::preadv2(f.fd.get(), &iov, 1, static_cast<off_t>(offset + got),
                            f.nowait ? RWF_NOWAIT : 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 && f.nowait) return std::nullopt;  // not all of it in the page cache
      if (n <= 0) throw files::Error(files::Code::io, "read " + f.shown + ": it shrank");
      got += static_cast<std::size_t>(n);
    }
    resp.body = std::move(data);
  } else {
    resp.file = std::make_shared<http::FileRange>(f.fd.release(), offset, length);
  }
  return resp;
}

}  // namespace moccha::api
