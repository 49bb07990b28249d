// JSON text written directly, for replies built without a tree (a thousand torrents' status
// read in place from Deluge's reply). The output is what nlohmann::json::dump would give for the
// same values, up to the spelling of numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace moccha {

// `s` as a JSON string: quoted, escaped, and each byte sequence that is not UTF-8 replaced by
// U+FFFD (as dump's error_handler_t::replace does): file names from a daemon are bytes.
void append_json_string(std::string& out, std::string_view s);

// The shortest text that reads back as the same value, always with a fraction or exponent so it
// stays a float to the reader ("100.0"); null for NaN and infinities, which JSON lacks.
void append_json_real(std::string& out, double v);
void append_json_real(std::string& out, float v);

void append_json_integer(std::string& out, std::int64_t v);

// True if `s` is well-formed UTF-8 (what append_json_string passes through unchanged).
bool valid_utf8(std::string_view s);

}  // namespace moccha
