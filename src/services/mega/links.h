// MEGA's public links: https://mega.nz/file/H#KEY and /folder/H#KEY, and the legacy
// https://mega.nz/#!H!KEY and #F!H!KEY (also on mega.co.nz).
#pragma once

#include <optional>
#include <string>

#include "services/mega/crypto.h"

namespace moccha::mega {

struct PublicLink {
  bool folder = false;
  std::string handle;
  Bytes key;  // 32 bytes for a file, 16 for a folder
};

// Whether `url` is on MEGA's web host (a link for this service).
bool is_mega_url(const std::string& url);
// nullopt unless it is a link in one of the forms above with a key of the right size.
std::optional<PublicLink> parse_link(const std::string& url);
std::string make_link(const PublicLink& link);

}  // namespace moccha::mega
