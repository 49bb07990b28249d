// What Moccha needs to know of a .torrent or a magnet link before handing it to Deluge: that it
// is one, and its info-hash (the torrent's id). Pure, bounds-checked: input comes from users.
#pragma once

#include <cstdint>
#include <filesystem>
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

// A .torrent is kilobytes (a few megabytes for a huge one): nothing larger is read.
inline constexpr std::uintmax_t kMaxTorrentFileBytes = 64u << 20;

// The bytes of a .torrent file, or nullopt with `error` set when it cannot be read or is larger
// than kMaxTorrentFileBytes (a wrong path to a disk image must not fill the memory).
std::optional<std::string> read_torrent_file(const std::filesystem::path& path, std::string& error);

// Standard base64 (Deluge's add_torrent_file takes the file so).
std::string base64(std::string_view data);

}  // namespace moccha::deluge
