// rencode, the serialisation Deluge's RPC speaks (the format of Python's `rencode` module as
// Deluge 2 ships it), to and from nlohmann::json. Pure: no I/O.
//
// Mapping: int <-> integer, float <-> number (encoded as 64-bit float), str/bytes <-> string
// (bytes that are not UTF-8 stay as they are), list/tuple <-> array, dict <-> object (keys
// that are not strings become their decimal text), None <-> null, bool <-> bool.
// The decoder takes bytes from the network: every read is bounds-checked and nesting is
// limited, so malformed input is an error, never a crash.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace moccha::deluge {

class RencodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string rencode(const nlohmann::json& value);

// Decodes exactly one value occupying all of `data`. Throws RencodeError.
nlohmann::json rdecode(std::string_view data, int max_depth = 100);

}  // namespace moccha::deluge
