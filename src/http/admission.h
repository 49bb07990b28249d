// The checks a request's header goes through before any body is read, as pure functions of
// header values (no Beast here), so they are tested on their own. The server calls them in
// order: framing, then the key, then (on a wrong key) the delay.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace moccha::http {

// Compares in time that depends only on `secret`'s length: neither content nor a matching
// prefix shows. False for an empty secret.
bool constant_time_equal(std::string_view presented, std::string_view secret);

// The key of "Authorization: Bearer KEY" (RFC 9110 section 11.1: the scheme in any case), or
// empty.
std::string bearer_key(std::string_view authorization);

// The delay before a 401 to an address that has sent `failures` wrong keys this minute: none
// for the first `allowed`, then 100 ms doubling up to 10 s. Slowing, not banning: the right key
// is never refused, so a page that fires bad requests cannot lock the owner out.
std::chrono::milliseconds auth_delay(int failures, int allowed);

// A target in absolute form ("http://host:port/path?q", RFC 9112 section 3.2.2) as its origin
// form ("/path?q"); any other target as it is.
std::string origin_form(std::string_view target);

// Why a request body cannot be framed safely, or nullopt: a Transfer-Encoding other than one
// lone "chunked" (RFC 9112 section 6.1), or one beside a Content-Length (a smuggling vector,
// section 6.3). `transfer_encoding` is the field's value when present, `fields` how many
// Transfer-Encoding fields there were.
std::optional<std::string> bad_framing(std::optional<std::string_view> transfer_encoding,
                                       std::size_t fields, bool has_content_length);

}  // namespace moccha::http
