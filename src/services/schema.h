// The vocabulary every service's config is checked with: one rule per kind of value (a path,
// a host, a port, an interface, a speed, a bounded string or list, a URL), each refusing with
// a ServiceError(invalid) that names the key and says what is wanted. The manager has already
// checked keys and JSON types; these check the values, before anything is written.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moccha::services::schema {

// Checks the value of `key`; throws ServiceError(invalid).
using Rule = std::function<void(const std::string& key, const nlohmann::json& value)>;

struct Field {
  std::string key;
  Rule rule;
};
using Schema = std::vector<Field>;

// Runs every field's rule on `config` (keys it lacks are skipped).
void check(const Schema& schema, const nlohmann::json& config);

struct PathRule {
  bool may_be_empty = false;  // "" meaning "none"
  bool may_be_root = false;   // "/" (never for a directory the service writes into)
};
// An absolute path of at most 4096 bytes with no control character and no "." or ".."
// component.
Rule path(PathRule options = {});
// A host name (RFC 1123 labels) or an IP address, at most 253 bytes.
Rule host();
// An integer in 1..65535.
Rule port();
// "" (any) or an IP address to bind to.
Rule interface();
// A speed in KiB/s: a finite number in [0, 10^9] (0 = unlimited).
Rule speed();
// A string of at most `max_bytes` with no control character (no NUL, CR or LF).
Rule text(std::size_t max_bytes = 256);
// A count: an integer in [lo, hi].
Rule integer(long long lo, long long hi);
// A list of at most `max_items` http(s) URLs, each at most 2048 bytes, without spaces or
// control characters.
Rule url_list(std::size_t max_items = 32);
// One http(s) URL ("" allowed when `may_be_empty`).
Rule url(bool may_be_empty = false);

// The keys every managed engine has, with their defaults: enabled, auto_install,
// auto_restart, autostart, webhooks, webhook_secret, upload_to_mega (a MEGA folder each
// finished download is uploaded to; "" off) and remove_after_upload. A service's defaults()
// adds its own.
nlohmann::json engine_defaults();
// The rules for those keys that are not plain booleans (webhooks, webhook_secret,
// upload_to_mega), added to a service's own.
Schema with_engine_rules(Schema own);

}  // namespace moccha::services::schema
