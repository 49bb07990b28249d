// What Moccha needs to know of a .torrent or a magnet link before handing it to Deluge: that it
// is one, and its info-hash (the torrent's id). Pure, bounds-checked: input comes from users.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace moccha::deluge {

// The 40-hex info-hash of a bencoded .torrent (SHA-1 of its "info" value), or nullopt if the
// bytes are not a torrent (not a bencoded dict with an "info" dict).
std::optional<std::string> torrent_info_hash(std::string_view data);

// The 40-hex info-hash named by a magnet URI's xt=urn:btih: (hex or base32), or nullopt if the
// URI is not a usable magnet link.
std::optional<std::string> magnet_info_hash(std::string_view uri);

// Standard base64 (Deluge's add_torrent_file takes the file so).
std::string base64(std::string_view data);

}  // namespace moccha::deluge
