// The server's admission of a request, once its header is read and before any body byte: the
// Host list (DNS rebinding), the credential (the API key, a route's own token, or the
// dashboard's cookie with its cross-site checks), the rate limit, and the route itself (404,
// 405). No Beast: the server hands it the few header fields it reads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "http/rate_limiter.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"

namespace moccha::http {

struct RequestHead {
  std::string_view method;
  std::string_view host;
  std::string key;  // from X-API-Key or Authorization: Bearer; empty when none
  std::optional<std::string_view> cookie, origin, sec_fetch_site, csrf_token;
  bool websocket = false;  // Upgrade: websocket
};

class Gate {
 public:
  Gate(const ServerOptions& options, RateLimiter& limiter) : opt_(options), limiter_(limiter) {}

  // The refusal, or nullopt to go on. Sets req.via_session and req.session_csrf for a cookie,
  // `rate` when the rate limit applied, and `delay` for a wrong credential (the caller waits
  // that long before answering).
  std::optional<ApiResponse> admit(const RequestHead& h, const Router::Match& m,
                                   const std::string& client, ApiRequest& req,
                                   std::optional<RateLimiter::Decision>& rate,
                                   std::chrono::milliseconds& delay);

 private:
  std::optional<ApiResponse> admit_session(const RequestHead& h, ApiRequest& req,
                                           const std::string& client,
                                           std::chrono::milliseconds& delay);
  const ServerOptions& opt_;
  RateLimiter& limiter_;
};

// X-RateLimit-Limit, -Remaining, -Reset, and Retry-After when refused.
void add_rate_headers(ApiResponse& r, const RateLimiter::Decision& d);

}  // namespace moccha::http
