// aria2's wire shapes, without state: an add request checked and turned into aria2's options,
// aria2's status (all strings) turned into the API's download and into the common queue's
// item, and its error codes as text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "services/downloads.h"

namespace moccha::aria2 {

// What Moccha reads of aria2's status of one download (aria2 sends every number as a string).
struct Status {
  std::string gid, status, dir, error_message;
  std::string path, uri;  // of the first file, and its first link
  long long total = 0, done = 0, down = 0, up = 0, connections = 0, error_code = 0;
  bool seeder = false;
};
// From a status tree (tellStatus's reply, or one kept in a record).
Status status_from(const nlohmann::json& status);
// Back to aria2's shape, for a record.
nlohmann::json status_json(const Status& s);
// The statuses in the reply to a batch of tellActive/tellWaiting/tellStopped, in the calls'
// order, read in place (no tree). Throws RpcError: refused for an error answer, protocol for
// a reply of another shape.
std::vector<Status> read_lists(std::string_view batch_reply);

// The keys Moccha asks tellStatus/tellActive/... for.
const nlohmann::json& status_keys();
// A number field of aria2's status (aria2 sends strings); 0 when missing or unreadable.
long long num(const nlohmann::json& status, const char* key);

// The aria2 options of a POST .../downloads body, each field checked ("url" or "urls",
// "dir", "out", "headers", "checksum", "connections", "paused"); the links go to `uris`.
// Throws ServiceError(invalid) naming the field.
nlohmann::json add_options(const nlohmann::json& request, std::vector<std::string>& uris);

// The last path segment of a link, before any query.
std::string base_name(const std::string& url);
// aria2's status as a common state (a seeder is "seeding").
std::string common_state(const std::string& aria2_status, bool seeder = false);
// aria2's exit and error codes (aria2c.rst, EXIT STATUS) as text, for errors it reports
// without a message (a checksum failure has none).
std::string code_text(long long code);

// One download in the API's shape (/services/aria2/downloads) from aria2's status and
// Moccha's record of it ({"url", "created", "dir", "out", "finished"}; may be empty).
nlohmann::json download_json(const Status& status, const nlohmann::json& record);
// The same download as an item of the common queue; `up`: aria2 runs, so actions are offered.
services::DownloadItem queue_item(const Status& status, const nlohmann::json& record, bool up);

}  // namespace moccha::aria2
