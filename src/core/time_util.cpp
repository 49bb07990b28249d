#include "core/time_util.h"

#include <fmt/core.h>

#include <cstdio>
#include <ctime>

namespace moccha {
namespace {

std::tm utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  std::tm tm = utc(std::chrono::system_clock::to_time_t(t));
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string iso8601_utc_now() {
  return iso8601_utc(std::chrono::system_clock::now());
}

std::optional<std::int64_t> parse_iso8601_utc(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string iso8601_utc_now_ms() {
  // Called for every log line: the seconds are formatted once a second per thread, and only
  // the milliseconds each time.
  thread_local std::time_t cached_s = -1;
  thread_local std::string cached;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  if (s != cached_s) {
    cached = iso8601_utc(std::chrono::system_clock::from_time_t(s));
    cached_s = s;
  }
  int frac = static_cast<int>(ms % 1000);
  std::string out = cached;
  out += '.';
  out += static_cast<char>('0' + frac / 100);
  out += static_cast<char>('0' + frac / 10 % 10);
  out += static_cast<char>('0' + frac % 10);
  out += 'Z';
  return out;
}

std::string format_uptime(std::chrono::microseconds elapsed) {
  long long us = elapsed.count() < 0 ? 0 : elapsed.count();
  long long total_s = us / 1000000;
  long long frac = us % 1000000;
  long long days = total_s / 86400;
  long long h = total_s % 86400 / 3600, m = total_s % 3600 / 60, s = total_s % 60;
  std::string out;
  if (days) out = fmt::format("{} day{}, ", days, days == 1 ? "" : "s");
  out += fmt::format("{}:{:02}:{:02}", h, m, s);
  if (frac) out += fmt::format(".{:06}", frac);
  return out;
}

std::string http_date(std::int64_t epoch_s) {
  // The same few modification times come back again and again (a client polling a file).
  thread_local std::int64_t cached_s = -1;
  thread_local std::string cached;
  if (epoch_s == cached_s) return cached;
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = utc(static_cast<std::time_t>(epoch_s));
  cached = fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[tm.tm_wday], tm.tm_mday,
                       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  cached_s = epoch_s;
  return cached;
}

std::optional<std::int64_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace moccha
