// Small ASCII text helpers for protocol tokens (header values, parameters, enum-like query
// values), where case and surrounding whitespace do not count.
#pragma once

#include <string>
#include <string_view>

namespace moccha {

// Without HTTP's optional whitespace (spaces and tabs) at either end.
std::string_view trim_ows(std::string_view s);

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

// ASCII lower case.
std::string ascii_lower(std::string_view s);

// `s` with every control character (C0 and DEL) written as an escape: \n, \r, \t, else \xHH,
// and a backslash doubled. What goes into a one-line-per-event log, so that no outside input
// (a request path, a header, a daemon's message) can start a line of its own.
std::string escape_control(std::string_view s);

}  // namespace moccha
