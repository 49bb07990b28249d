// Deluge's status fields in the API's shape: the list fields of a torrent (renamed, and typed
// as the spec has them) and a peer. One table of fields serves both ways a status arrives: as a
// decoded tree (one torrent's details) and as rencoded bytes read in place (the whole list,
// where building a tree cost more than the daemon's own answer).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace moccha::api {

// The keys to ask core.get_torrent(s)_status for, to fill the list fields.
const nlohmann::json& torrent_list_keys();

// A number field of a decoded status, 0 when missing or not a number.
double number_field(const nlohmann::json& status, const char* key);

// One torrent's list fields from its decoded status.
nlohmann::json torrent_json(const std::string& id, const nlohmann::json& status);

// The reply body of GET /services/deluge/torrents, from the rencoded result of
// core.get_torrents_status ({id: status}): {"success", "torrents": [...], "count"}, torrents in
// the daemon's order. Throws deluge::RencodeError for a result of another shape.
std::string torrent_list_body(std::string_view rencoded);

// A peer from get_torrent_status's "peers". Deluge exposes no peer id: ours is ip:port.
nlohmann::json peer_json(const nlohmann::json& peer);

// One torrent in detail: its list fields, files with progress, trackers (the one Deluge last
// announced to carries its status) and peers, from a status asked with torrent_detail_keys().
const nlohmann::json& torrent_detail_keys();
nlohmann::json torrent_detail_json(const std::string& id, const nlohmann::json& status);

// Deluge's session figures (core.get_session_status with session_keys()) in the API's shape.
const nlohmann::json& session_keys();
nlohmann::json session_json(const nlohmann::json& status);

}  // namespace moccha::api
