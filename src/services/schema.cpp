#include "services/schema.h"

#include <arpa/inet.h>

#include <cmath>

#include "services/service.h"

namespace moccha::services::schema {
namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& want) {
  throw ServiceError(ServiceError::Kind::invalid, "'" + key + "' must be " + want);
}

bool has_control(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

const std::string& string_of(const std::string& key, const json& v) {
  if (!v.is_string()) bad(key, "a string");
  return v.get_ref<const std::string&>();
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool is_hostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

bool is_url(const std::string& s) {
  if (s.size() > 2048 || has_control(s) || s.find(' ') != std::string::npos) return false;
  for (std::string_view scheme : {"http://", "https://"})
    if (s.starts_with(scheme) && s.size() > scheme.size()) return true;
  return false;
}

}  // namespace

void check(const Schema& schema, const json& config) {
  for (const auto& f : schema)
    if (auto it = config.find(f.key); it != config.end()) f.rule(f.key, *it);
}

Rule path(PathRule o) {
  return [o](const std::string& key, const json& v) {
    const std::string& s = string_of(key, v);
    std::string want = o.may_be_empty ? "an absolute path (or empty for none)" : "an absolute path";
    if (s.empty()) {
      if (o.may_be_empty) return;
      bad(key, want);
    }
    if (s.size() > 4096) bad(key, want + " of at most 4096 bytes");
    if (has_control(s)) bad(key, want + " without control characters (NUL, CR, LF)");
    if (s.front() != '/') bad(key, want);
    std::size_t start = 1;
    while (start < s.size()) {
      std::size_t slash = s.find('/', start);
      std::string part = s.substr(start, slash == std::string::npos ? slash : slash - start);
      if (part == "." || part == "..") bad(key, want + " without '.' or '..' components");
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (!o.may_be_root && s.find_first_not_of('/') == std::string::npos)
      bad(key, "a directory other than the root directory");
  };
}

Rule host() {
  return [](const std::string& key, const json& v) {
    const std::string& s = string_of(key, v);
    if (!is_ip(s) && !is_hostname(s)) bad(key, "a host name or an IP address");
  };
}

Rule port() {
  return integer(1, 65535);
}

Rule interface() {
  return [](const std::string& key, const json& v) {
    const std::string& s = string_of(key, v);
    if (!s.empty() && !is_ip(s)) bad(key, "an IP address to listen on (or empty for all)");
  };
}

Rule speed() {
  return [](const std::string& key, const json& v) {
    if (!v.is_number()) bad(key, "a number of KiB/s");
    double d = v.get<double>();
    if (!std::isfinite(d) || d < 0 || d > 1e9)
      bad(key, "a speed in KiB/s from 0 (unlimited) to 1000000000");
  };
}

Rule text(std::size_t max_bytes) {
  return [max_bytes](const std::string& key, const json& v) {
    const std::string& s = string_of(key, v);
    if (s.size() > max_bytes)
      bad(key, "a string of at most " + std::to_string(max_bytes) + " bytes");
    if (has_control(s)) bad(key, "a string without control characters (NUL, CR, LF)");
  };
}

Rule integer(long long lo, long long hi) {
  return [lo, hi](const std::string& key, const json& v) {
    bool ok = false;
    if (v.is_number_unsigned()) {  // past INT64_MAX too: compared before any conversion
      auto u = v.get<unsigned long long>();
      ok = hi >= 0 && u <= static_cast<unsigned long long>(hi) && static_cast<long long>(u) >= lo;
    } else if (v.is_number_integer()) {
      auto i = v.get<long long>();
      ok = i >= lo && i <= hi;
    }
    if (!ok) bad(key, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  };
}

Rule url_list(std::size_t max_items) {
  return [max_items](const std::string& key, const json& v) {
    if (!v.is_array() || v.size() > max_items)
      bad(key, "a list of at most " + std::to_string(max_items) + " http(s) URLs");
    for (const auto& u : v)
      if (!u.is_string() || !is_url(u.get<std::string>()))
        bad(key, "a list of http(s) URLs (each at most 2048 bytes, without spaces)");
  };
}

Rule url(bool may_be_empty) {
  return [may_be_empty](const std::string& key, const json& v) {
    const std::string& s = string_of(key, v);
    if (s.empty() && may_be_empty) return;
    if (!is_url(s)) bad(key, "an http(s) URL");
  };
}

nlohmann::json engine_defaults() {
  return {{"enabled", true},
          {"auto_install", true},
          {"auto_restart", true},
          {"autostart", true},
          {"webhooks", nlohmann::json::array()},
          {"webhook_secret", ""},
          {"upload_to_mega", ""},
          {"remove_after_upload", false}};
}

Schema with_engine_rules(Schema own) {
  own.push_back({"webhooks", url_list(32)});
  own.push_back({"webhook_secret", text(256)});
  own.push_back({"upload_to_mega", path({.may_be_empty = true, .may_be_root = true})});
  return own;
}

}  // namespace moccha::services::schema
