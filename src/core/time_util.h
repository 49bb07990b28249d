// Time formatting shared by the API (ISO-8601 UTC) and /status (Python-style uptime).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace moccha {

// "2023-01-01T12:00:00" (UTC, seconds), the spec's timestamp format.
std::string iso8601_utc(std::chrono::system_clock::time_point t);
std::string iso8601_utc_now();
// "2023-01-01T12:00:00" (a trailing "Z" or fraction allowed) as seconds since the epoch.
std::optional<std::int64_t> parse_iso8601_utc(const std::string& text);
// "2023-01-01T12:00:00.123Z", for log lines.
std::string iso8601_utc_now_ms();
// Like Python's str(timedelta): "0:30:45.123456", "1 day, 2:03:04.000005", "3 days, 0:00:00".
std::string format_uptime(std::chrono::microseconds elapsed);

// RFC 7231 HTTP-date: "Sun, 06 Nov 1994 08:49:37 GMT", and back (nullopt if malformed).
std::string http_date(std::int64_t epoch_s);
std::optional<std::int64_t> parse_http_date(const std::string& text);

}  // namespace moccha
