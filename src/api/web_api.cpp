#include "api/web_api.h"

#include <memory>

#include "api/work.h"
#include "http/compression.h"
#include "http/router.h"
#include "http/web_guard.h"
#include "system/monitor.h"
#include "web/assets.h"
#include "web/sessions.h"

namespace moccha::api {

namespace s = http::schema;
namespace web_routes {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;
using D = std::shared_ptr<const WebApiDeps>;

// The dashboard page's policy (S8-S10 of the research): scripts and styles from the agent
// only, no inline or eval script, no framing. Inline styles stay allowed: the terminal's
// renderer sets them.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'";

ApiResponse asset_reply(const web::Asset& a, const ApiRequest& req) {
  auto accept = req.headers.find("accept-encoding");
  bool gz = accept != req.headers.end() && http::accepts_gzip(accept->second);
  std::string etag =
      gz ? std::string(a.etag) : std::string(a.etag.substr(0, a.etag.size() - 1)) + "-identity\"";
  ApiResponse r;
  r.content_type = std::string(a.content_type);
  r.headers = {{"ETag", etag},
               {"Vary", "Accept-Encoding"},
               {"Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache"}};
  if (a.path == "/") r.headers.emplace_back("Content-Security-Policy", kPagePolicy);
  if (auto inm = req.headers.find("if-none-match");
      inm != req.headers.end() && inm->second.find(etag) != std::string::npos) {
    r.status = 304;
    r.body = "";
    return r;
  }
  if (gz) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = std::string(a.gz);
  } else {
    auto raw = http::gunzip(a.gz, a.size);
    if (!raw) throw ApiError(500, "a dashboard file is damaged", std::string(a.path));
    r.body = std::move(*raw);
  }
  return r;
}

ApiResponse page(const ApiRequest& req) {
  if (const web::Asset* a = web::find_asset("/")) return asset_reply(*a, req);
  ApiResponse r = ApiResponse::error(501, "dashboard not built",
                                     "this binary was built with -DMOCCHA_WEB=OFF; the API works");
  return r;
}

ApiResponse file(const ApiRequest& req) {
  const web::Asset* a = web::find_asset("/assets/" + req.params.at("name"));
  if (!a) throw ApiError(404, "not found", "no dashboard file " + req.path);
  return asset_reply(*a, req);
}

// The session cookie's attributes: HttpOnly (no script reads it), SameSite=Strict, Secure when
// the page came over HTTPS (a tunnel says so in X-Forwarded-Proto or the Origin).
std::string cookie_header(const D& d, const ApiRequest& req, const std::string& value,
                          bool expire) {
  auto header = [&](const char* name) {
    auto it = req.headers.find(name);
    return it == req.headers.end() ? std::string() : it->second;
  };
  bool https = header("x-forwarded-proto") == "https" || header("origin").starts_with("https://");
  std::string c = d->sessions->cookie_name() + "=" + value + "; Path=/; HttpOnly; SameSite=Strict";
  if (https) c += "; Secure";
  if (expire) c += "; Max-Age=0";
  return c;
}

ApiResponse log_in(const D& d, const ApiRequest& req) {
  if (req.via_session)
    throw ApiError(400, "already logged in", "send the API key or a login code to log in anew");
  web::WebSessions::Created c = d->sessions->create();
  ApiResponse r = ApiResponse::ok({{"success", true}, {"csrf_token", c.csrf_token}});
  r.headers = {{"Set-Cookie", cookie_header(d, req, c.cookie, false)},
               {"Cache-Control", "no-store"}};
  return r;
}

// GET /auth/session is public, so a page that is not logged in learns so without an error;
// with a cookie the server admits it as on any route (session_optional): cross-site checks.
ApiResponse session(const D&, const ApiRequest& req) {
  ApiResponse r =
      ApiResponse::ok({{"success", true},
                       {"logged_in", req.via_session},
                       {"csrf_token", req.via_session ? json(req.session_csrf) : json(nullptr)}});
  r.headers = {{"Cache-Control", "no-store"}};
  return r;
}

ApiResponse log_out(const D& d, const ApiRequest& req) {
  if (auto it = req.headers.find("cookie"); it != req.headers.end())
    if (auto cookie = http::cookie_value(it->second, d->sessions->cookie_name()))
      d->sessions->end(*cookie);
  ApiResponse r = ApiResponse::ok({{"success", true}, {"message", "Logged out"}});
  r.headers = {{"Set-Cookie", cookie_header(d, req, "", true)}};
  return r;
}

// GET /status/stream: one `sample` event per CPU sample, as Server-Sent Events.
class SampleStream : public http::BodyStream {
 public:
  explicit SampleStream(sys::Monitor* monitor) : monitor_(monitor) {}

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    if (!started_) {
      started_ = true;
      return deliver("retry: 3000\n\n" + event(monitor_->snapshot()));
    }
    // The server keeps this stream alive until `deliver` is called.
    monitor_->after_next_sample([this, deliver = std::move(deliver)](bool open) {
      if (!open) return deliver(std::nullopt);
      deliver(event(monitor_->snapshot()));
    });
  }

 private:
  std::string event(const sys::Monitor::Snapshot& snap) {
    double secs = std::chrono::duration<double>(snap.taken.time_since_epoch()).count();
    double dt = last_t_ > 0 ? secs - last_t_ : 0;
    auto rate = [&](std::uint64_t now, std::uint64_t before) {
      return dt > 0 && now >= before ? static_cast<double>(now - before) / dt : 0.0;
    };
    json gpus = json::array();
    for (const auto& g : snap.gpus)
      gpus.push_back({{"index", g.index},
                      {"name", g.name},
                      {"util_pct", g.util_pct ? json(*g.util_pct) : json(nullptr)},
                      {"mem_used_mb", g.mem_used_mb},
                      {"mem_total_mb", g.mem_total_mb}});
    const auto& m = snap.memory;
    json sample = {
        {"t", secs},
        {"cpu_pct", snap.cpu_pct},
        {"cpu_count", snap.cpu_count},
        {"ram_used_bytes", m.used_bytes()},
        {"ram_total_bytes", m.total_bytes},
        {"disk_free_bytes", snap.disk.free_bytes},
        {"disk_total_bytes", snap.disk.total_bytes},
        {"net_rx_bps", rate(snap.net.rx, last_net_.rx)},
        {"net_tx_bps", rate(snap.net.tx, last_net_.tx)},
        {"agent_rss_bytes", snap.agent_rss_bytes},
        {"gpus", std::move(gpus)},
    };
    last_t_ = secs;
    last_net_ = snap.net;
    return "event: sample\ndata: " + sample.dump() + "\n\n";
  }

  sys::Monitor* monitor_;
  bool started_ = false;
  double last_t_ = 0;
  sys::NetBytes last_net_;
};

ApiResponse status_stream(const D& d, const ApiRequest&) {
  ApiResponse r;
  r.content_type = "text/event-stream";
  r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  r.stream = std::make_shared<SampleStream>(d->monitor);
  return r;
}

}  // namespace
}  // namespace web_routes

void add_web_routes(http::Router& router, WebApiDeps deps) {
  using namespace web_routes;
  auto d = std::make_shared<const WebApiDeps>(std::move(deps));
  auto query = [&d](auto f) { return answers(d, f); };

  router.add({"GET", "/", http::sync(page), http::BodyKind::none, /*is_public=*/true},
             {"web",
              "The dashboard (public; it logs in with POST /auth/session)",
              {},
              nullptr,
              nullptr,
              "text/html",
              {304, 403}});
  router.add({"GET", "/assets/{name*}", http::sync(file), http::BodyKind::none, true},
             {"web",
              "The dashboard's scripts and styles",
              {},
              nullptr,
              nullptr,
              "text/javascript",
              {304, 403, 404}});

  http::Route login{"POST", "/auth/session", on_pool(d, d->quick, log_in), http::BodyKind::json};
  login.also_accepts = [sessions = d->sessions](std::string_view code) {
    return sessions->redeem(code);
  };
  router.add(std::move(login),
             {"web",
              "Log a browser in: the API key (or a one-time login code) in X-API-Key, once; "
              "answers the CSRF token and sets an HttpOnly session cookie",
              {},
              nullptr,
              s::reply({{"csrf_token", s::string()}}, {"csrf_token"}),
              "",
              {400}});
  http::Route state{"GET", "/auth/session", query(session), http::BodyKind::none, true};
  state.session_optional = true;
  router.add(std::move(state),
             {"web",
              "Whether this browser is logged in, and its CSRF token again after a reload",
              {},
              nullptr,
              s::reply({{"logged_in", s::boolean()}, {"csrf_token", s::nullable(s::string())}},
                       {"logged_in", "csrf_token"}),
              "",
              {403}});
  router.add({"DELETE", "/auth/session", on_pool(d, d->quick, log_out)},
             {"web", "Log the browser out", {}, nullptr, s::reply({{"message", s::string()}})});
  router.add({"GET", "/status/stream", query(status_stream)},
             {"system",
              "CPU, memory, disk, network, GPUs and the agent's RSS at each sample (SSE)",
              {},
              nullptr,
              nullptr,
              "text/event-stream"});
}

}  // namespace moccha::api
