// Request targets and header values from the network: path splitting, percent-decoding, query
// parsing, routing, Accept-Encoding, the admission checks (absolute form, Bearer, framing) and
// the log's escaping.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/text.h"
#include "http/admission.h"
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
  std::string origin = moccha::http::origin_form(in);
  if (!origin.empty() && origin.front() != '/' && origin != in) __builtin_trap();
  moccha::http::bearer_key(in);
  moccha::http::bad_framing(in, 1, false);
  std::string escaped = moccha::escape_control(in);
  for (unsigned char c : escaped)
    if (c < 0x20 || c == 0x7f) __builtin_trap();  // no control character may reach the log
  return 0;
}
