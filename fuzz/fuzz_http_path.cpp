// Request targets and header values from the network: path splitting, percent-decoding, query
// parsing, routing, Accept-Encoding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/compression.h"
#include "http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const moccha::http::Router router = [] {
    moccha::http::Router r;
    auto h = moccha::http::sync(
        [](const moccha::http::ApiRequest&) { return moccha::http::ApiResponse::ok({}); });
    r.add({"GET", "/services/{name}/status", h});
    r.add({"GET", "/services/status", h});
    r.add({"GET", "/download/{path*}", h});
    return r;
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto q = in.find('?');
  std::vector<std::string> segs;
  moccha::http::split_path(in.substr(0, q), segs);
  if (q != std::string_view::npos) moccha::http::parse_query(in.substr(q + 1));
  router.find("GET", in.substr(0, q));
  moccha::http::rate_group(in);
  moccha::http::accepts_gzip(in);
  return 0;
}
