// gzip for replies (Content-Encoding), when the client says it takes it: a 1000-torrent list
// is 250 kB of JSON and a tenth of that compressed, which matters to an agent used from afar.
// Pure functions, zlib.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace moccha::http {

// Whether an Accept-Encoding header value accepts gzip (RFC 9110: "gzip", "x-gzip" or "*",
// not with q=0).
bool accepts_gzip(std::string_view accept_encoding);

// The gzip member of `data` (fast level: the reply waits for it), or nullopt if zlib fails.
std::optional<std::string> gzip(std::string_view data);

// The bytes of a gzip member (`size_hint`: their size, when known), or nullopt if it is not one.
std::optional<std::string> gunzip(std::string_view data, std::size_t size_hint = 0);

}  // namespace moccha::http
