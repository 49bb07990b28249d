#include "http/web_guard.h"

#include <arpa/inet.h>

#include <algorithm>

#include "core/text.h"
#include "http/admission.h"

namespace moccha::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool ends_with_label(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix) &&
         name[name.size() - suffix.size() - 1] == '.';
}

// "host:port" of an Origin ("scheme://host:port"), lower-case; empty for "null".
std::string origin_authority(std::string_view origin) {
  auto scheme = origin.find("://");
  if (scheme == std::string_view::npos) return {};
  return lower(origin.substr(scheme + 3));
}

}  // namespace

std::string host_name(std::string_view a) {
  if (auto scheme = a.find("://"); scheme != std::string_view::npos) a = a.substr(scheme + 3);
  if (auto slash = a.find('/'); slash != std::string_view::npos) a = a.substr(0, slash);
  if (a.starts_with('[')) {
    auto close = a.find(']');
    return lower(a.substr(1, close == std::string_view::npos ? a.npos : close - 1));
  }
  if (auto colon = a.rfind(':'); colon != std::string_view::npos) a = a.substr(0, colon);
  std::string name = lower(a);
  while (name.ends_with('.')) name.pop_back();  // "localhost." is localhost
  return name;
}

HostList::HostList(std::vector<std::string> names) {
  for (auto& n : names) add(std::move(n));
}

void HostList::add(std::string name) {
  std::string n = name.starts_with("*.") ? "*." + host_name(name.substr(2)) : host_name(name);
  if (n.empty() || n == "*.") return;
  std::lock_guard lock(mu_);
  if (std::find(names_.begin(), names_.end(), n) == names_.end()) names_.push_back(std::move(n));
}

void HostList::add_source(std::function<std::string()> current) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(current));
}

bool HostList::allows(std::string_view host) const {
  std::string name = host_name(host);
  if (name.empty()) return false;
  if (is_ip_literal(name) || name == "localhost" || ends_with_label(name, "localhost")) return true;
  std::lock_guard lock(mu_);
  for (const auto& n : names_) {
    if (n == name) return true;
    if (n.starts_with("*.") && ends_with_label(name, std::string_view(n).substr(2))) return true;
  }
  for (const auto& current : sources_) {
    std::string n = current();
    if (!n.empty() && host_name(n) == name) return true;
  }
  return false;
}

std::optional<std::string> cross_site_refusal(const BrowserHeaders& h,
                                              std::string_view session_csrf) {
  bool read = h.method == "GET" || h.method == "HEAD";
  bool same_origin = false;
  if (h.origin) {
    if (origin_authority(*h.origin) != lower(h.host))
      return "Origin " + std::string(*h.origin) + " is not this agent's page";
    same_origin = true;
  }
  if (h.sec_fetch_site) {
    if (*h.sec_fetch_site == "same-origin") {
      same_origin = true;
    } else if (!(read && !h.websocket && *h.sec_fetch_site == "none")) {
      return "Sec-Fetch-Site is " + std::string(*h.sec_fetch_site) + ", not same-origin";
    }
  }
  if (h.websocket && !h.origin) return "a WebSocket upgrade without Origin";
  if (read) return std::nullopt;
  if (!same_origin) return "a write without Origin or Sec-Fetch-Site: same-origin";
  if (!h.csrf_token) return "a write without X-CSRF-Token";
  if (!constant_time_equal(*h.csrf_token, session_csrf)) return "a wrong X-CSRF-Token";
  return std::nullopt;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || trim_ows(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim_ows(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

}  // namespace moccha::http
