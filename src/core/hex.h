// Hex text of bytes, and random hex ids and secrets (from getrandom(2)).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace moccha {

// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);
// `n` random bytes as 2n hex characters. Throws std::system_error if the kernel has no
// randomness to give (getrandom fails), rather than return a guessable value.
std::string random_hex(std::size_t n);

// RFC 3986 percent-encoding: unreserved characters (letters, digits, "-._~") and those in
// `keep` stay as they are; every other byte becomes %XX.
std::string percent_encode(std::string_view text, std::string_view keep = {});

}  // namespace moccha
