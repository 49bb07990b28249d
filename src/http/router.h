// Maps (method, path) to a route. Patterns are literal segments and parameters:
// "/services/{name}/status" binds one segment; "/download/{path*}" binds the rest of the path
// (slashes included). When several routes match, the one with more literal segments wins, so
// "/services/status" beats "/services/{name}". Not thread-safe to modify; build it before
// serving and only read it afterwards.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/route_doc.h"

namespace moccha::http {

// Rate-limit groups of the spec: /services/deluge/* is "deluge", other /services* and the
// download queue /downloads* "services", everything else "system".
enum class RateGroup { system, services, deluge };
RateGroup rate_group(std::string_view path);
const char* to_string(RateGroup group);

enum class BodyKind {
  none,    // any body is read (within the JSON limit) and ignored
  json,    // parsed into ApiRequest::json; malformed JSON is a 400 before the handler runs
  raw,     // kept in ApiRequest::body
  stream,  // handed to the sink `open_sink` returns, piece by piece (uploads)
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  BodyKind body = BodyKind::none;
  bool is_public = false;  // no API key needed (/health)
  // For a public route: a session cookie, when sent, is admitted as on any other route (its
  // cross-site checks apply, req.via_session is set); one that is unknown is no session.
  bool session_optional = false;
  std::size_t body_limit = 0;  // 0: limits.max_body_bytes (max_upload_bytes for streams)
  // A credential this route takes besides the API key, in the same headers (GET /metrics: a
  // scraper's metrics.token; POST /auth/session: a one-time login code). Wrong ones slow down.
  std::function<bool(std::string_view)> also_accepts;
  // For BodyKind::stream: called after the header, before any body is read; may throw
  // ApiError to refuse. The route's `handler` is not called.
  std::function<std::unique_ptr<BodySink>(ApiRequest&)> open_sink;
  // A WebSocket route (GET with Upgrade: websocket): called once the request is admitted; may
  // throw ApiError to refuse before the 101 (404, 403, ...). The socket, once accepted, goes
  // to the handler it returns. A GET without the upgrade is a 426; `handler` is not called.
  std::function<SocketHandler(ApiRequest&)> open_socket;
  RouteDoc doc;  // what GET /openapi.json says of it
};

class Router {
 public:
  void add(Route route);
  // The same, with what the API's document says of it.
  void add(Route route, RouteDoc doc);

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    std::vector<std::string> allowed;  // when the path exists but not for this method
  };
  Match find(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Entry {
    std::vector<std::string> segments;
    int literals = 0;
  };
  std::vector<Route> routes_;
  std::vector<Entry> entries_;
};

// Splits "/a/b%20c" into {"a", "b c"}; false if a segment has invalid percent-encoding.
bool split_path(std::string_view path, std::vector<std::string>& out);
// Percent-decoding ('+' stays '+' unless `plus_is_space`). False on malformed input.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space = false);
// Parses "a=1&b=x%20y" into a map (later keys win).
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace moccha::http
