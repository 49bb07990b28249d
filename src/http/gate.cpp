#include "http/gate.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "http/admission.h"
#include "http/web_guard.h"

namespace moccha::http {

using Clock = std::chrono::steady_clock;

void add_rate_headers(ApiResponse& r, const RateLimiter::Decision& d) {
  r.headers.emplace_back("X-RateLimit-Limit", std::to_string(d.limit));
  r.headers.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
  r.headers.emplace_back("X-RateLimit-Reset", std::to_string(d.reset_s));
  if (!d.allowed) r.headers.emplace_back("Retry-After", std::to_string(d.reset_s));
}

// A request without a key in a header: by the dashboard's session cookie, with its
// cross-site checks (Origin, Sec-Fetch-Site, X-CSRF-Token), or a 401.
std::optional<ApiResponse> Gate::admit_session(const RequestHead& h, ApiRequest& req,
                                               const std::string& client,
                                               std::chrono::milliseconds& delay) {
  auto missing = [] {
    return ApiResponse::error(401, "missing API key",
                              "send it as X-API-Key or Authorization: Bearer");
  };
  if (!opt_.sessions || !h.cookie) return missing();  // not a guess: counted against nobody
  auto cookie = cookie_value(*h.cookie, opt_.sessions->cookie_name());
  if (!cookie) return missing();
  auto csrf = opt_.sessions->csrf_of(*cookie);
  if (!csrf) {
    delay = auth_delay(limiter_.hit("auth|" + client, Clock::now()), opt_.rate_limit.auth_failures);
    return ApiResponse::error(401, "session expired", "log in again with the API key");
  }
  BrowserHeaders b{h.method, h.host, h.origin, h.sec_fetch_site, h.csrf_token, h.websocket};
  if (auto why = cross_site_refusal(b, *csrf)) {
    log::warn("refused a cross-site request from {}: {}", client, *why);
    return ApiResponse::error(403, "cross-site request refused", *why);
  }
  req.via_session = true;
  req.session_csrf = *csrf;
  return std::nullopt;
}

std::optional<ApiResponse> Gate::admit(const RequestHead& h, const Router::Match& m,
                                       const std::string& client, ApiRequest& req,
                                       std::optional<RateLimiter::Decision>& rate,
                                       std::chrono::milliseconds& delay) {
  auto now = Clock::now();
  const RateLimitConfig& rl = opt_.rate_limit;
  bool is_public = m.route && m.route->is_public;
  const std::string& key = h.key;
  // A browser's request (no key in a header) must name a host this agent answers to: a page
  // on a rebound name cannot read the dashboard or use its session (DNS rebinding).
  if (key.empty() && opt_.hosts && !opt_.hosts->allows(h.host))
    return ApiResponse::error(403, "unknown Host",
                              "this agent answers to its own names only (web.allowed_hosts)");
  if (is_public && m.route->session_optional && key.empty() && h.cookie) {
    auto refused = admit_session(h, req, client, delay);
    if (refused && refused->status == 403) return refused;  // cross-site: said so
  }
  if (!is_public) {
    if (key.empty()) {
      if (auto refused = admit_session(h, req, client, delay)) return refused;
    } else if (!(m.route && m.route->also_accepts && m.route->also_accepts(key)) &&
               !constant_time_equal(key, opt_.api_key)) {
      // Wrong keys slow down per address whatever the rate-limit switch says: it is what
      // keeps a key from being guessed.
      delay = auth_delay(limiter_.hit("auth|" + client, now), rl.auth_failures);
      return ApiResponse::error(401, "invalid API key",
                                "send it as X-API-Key or Authorization: Bearer");
    }
    if (rl.enabled) {
      RateGroup group = rate_group(req.path);
      int limit = group == RateGroup::deluge     ? rl.deluge
                  : group == RateGroup::services ? rl.services
                                                 : rl.system;
      // One key is configured, so the group alone identifies the bucket.
      rate = limiter_.check(std::string("key|") + to_string(group), limit, now);
      if (!rate->allowed) {
        ApiResponse r = ApiResponse::error(
            429, "rate limit exceeded",
            fmt::format("{} requests per minute for {} endpoints", limit, to_string(group)));
        add_rate_headers(r, *rate);
        return r;
      }
    }
  }
  if (!m.route) {
    if (!m.allowed.empty()) {
      std::string allow;
      for (const auto& a : m.allowed) allow += (allow.empty() ? "" : ", ") + a;
      if (std::find(m.allowed.begin(), m.allowed.end(), "GET") != m.allowed.end())
        allow += ", HEAD";
      ApiResponse r = ApiResponse::error(
          405, "method not allowed",
          fmt::format("{} {} is not supported; use {}", std::string(h.method), req.path, allow));
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return ApiResponse::error(404, "not found", "no route for " + req.path);
  }
  return std::nullopt;
}

}  // namespace moccha::http
