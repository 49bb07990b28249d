// The HTTP/1.1 server: the only translation unit that includes Beast.
//
// Each connection is a coroutine on the caller's io_context (one I/O thread; no strands).
// For each request it reads the header only, then, in this order: authenticates (401; wrong
// keys from one address are answered more and more slowly), rate-limits per key and route group
// (429 with Retry-After and X-RateLimit-*), routes (404/405), checks the body against the route's
// limit (413) — all before reading any body — and only then reads the body, parses JSON for JSON
// routes (400) and calls the handler. Every reply is JSON unless the handler says otherwise,
// and each request is one line in the access log.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/config.h"

namespace boost::asio {
class io_context;
}

namespace moccha::metrics {
class Registry;
}

namespace moccha::http {

class Router;
class HostList;
class SessionAuth;

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 5000;  // 0: any free port
  std::string api_key;         // required; compared in constant time
  LimitsConfig limits;
  RateLimitConfig rate_limit;
  // When set: requests by route pattern and status, their latency, open connections, refusals
  // for rate and for auth (moccha_http_*). Must outlive the server.
  metrics::Registry* metrics = nullptr;
  // The dashboard's browser sessions: a request without a key may carry their cookie, and is
  // then held to the cross-site checks of http/web_guard.h. Must outlive the server.
  SessionAuth* sessions = nullptr;
  // When set, a request without a key must name one of these hosts (else 403).
  std::shared_ptr<const HostList> hosts;
};

class Server {
 public:
  // `router` must outlive the server and not change while it serves.
  Server(boost::asio::io_context& ioc, ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. Returns the bound port. Throws std::system_error on failure.
  unsigned short listen();
  // Starts accepting on the io_context.
  void start();
  // Graceful stop: accept no more, close idle connections, let requests in flight finish
  // within limits.shutdown_grace_s. Then requests still in their handlers are answered 503,
  // `grace_over` is called (to interrupt what they wait on), the rest is closed, and `done`
  // is called (all on the I/O thread).
  void shutdown(std::function<void()> done, std::function<void()> grace_over = nullptr);

  std::size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace moccha::http
