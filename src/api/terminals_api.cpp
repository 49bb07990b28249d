#include "api/terminals_api.h"

#include <fmt/format.h>

#include <memory>

#include "api/work.h"
#include "http/admission.h"
#include "http/router.h"
#include "terminal/terminals.h"

namespace moccha::api {

namespace s = http::schema;
namespace terminals_routes {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::WebSocket;
using nlohmann::json;
using D = std::shared_ptr<const TerminalsApiDeps>;

constexpr int kMaxSide = 1000;

// A frame's "type" when it is a JSON object with a string there, else "" (never throws: a frame
// is the client's, and a throw here would end the I/O thread).
std::string frame_type(const json& j) {
  if (!j.is_object()) return {};
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

terminal::Terminals& enabled(const D& d) {
  if (!d->terminals)
    throw ApiError(403, "terminals are disabled", "terminal.enabled is false in the config");
  return *d->terminals;
}

json info_json(const terminal::Info& t) {
  return {{"id", t.id},           {"pid", t.pid},
          {"shell", t.shell},     {"cols", t.cols},
          {"rows", t.rows},       {"viewers", t.viewers},
          {"created", t.created}, {"last_active", t.last_active}};
}

int side(const json& body, const char* name, int fallback) {
  auto v = http::optional_number(body, name);
  if (!v) return fallback;
  if (*v < 1 || *v > kMaxSide || *v != static_cast<int>(*v))
    throw ApiError(400, std::string("invalid ") + name,
                   fmt::format("a whole number from 1 to {}", kMaxSide));
  return static_cast<int>(*v);
}

ApiResponse create(const D& d, const ApiRequest& req) {
  auto& terms = enabled(d);
  const json& body = req.json.is_object() ? req.json : json::object();
  int cols = side(body, "cols", 80), rows = side(body, "rows", 24);
  try {
    ApiResponse r = ApiResponse::ok(info_json(terms.create(cols, rows)));
    r.json["success"] = true;
    r.status = 201;
    return r;
  } catch (const terminal::TerminalError& e) {
    bool full = e.kind == terminal::TerminalError::Kind::too_many;
    throw ApiError(full ? 409 : 500, full ? "too many terminals" : "no shell", e.what());
  }
}

ApiResponse list(const D& d, const ApiRequest&) {
  json all = json::array();
  for (const auto& t : enabled(d).list()) all.push_back(info_json(t));
  return ApiResponse::ok({{"success", true}, {"terminals", std::move(all)}});
}

ApiResponse remove(const D& d, const ApiRequest& req) {
  const std::string& id = req.params.at("id");
  if (!enabled(d).remove(id)) throw ApiError(404, "no such terminal", id);
  return ApiResponse::ok({{"success", true}, {"id", id}});
}

// One WebSocket joined to one terminal: frames in, the terminal's bytes out.
class Link : public std::enable_shared_from_this<Link> {
 public:
  Link(terminal::Terminals& terms, std::string id, std::shared_ptr<WebSocket> ws,
       std::optional<std::string> csrf)
      : terms_(terms), id_(std::move(id)), ws_(std::move(ws)), csrf_(std::move(csrf)) {}

  void start() {
    if (!csrf_) attach();
    next();
  }

 private:
  void next() {
    ws_->read([self = shared_from_this()](std::optional<WebSocket::Message> m) {
      if (!m) {  // closed: let go of the terminal and of the socket
        self->attachment_.reset();
        return;
      }
      if (self->take(*m)) self->next();
    });
  }

  // False when the socket is being closed.
  bool take(const WebSocket::Message& m) {
    if (csrf_ && !attachment_) {
      json j = json::parse(m.data, nullptr, false);
      if (m.binary || frame_type(j) != "auth" || !j["csrf_token"].is_string() ||
          !http::constant_time_equal(j["csrf_token"].get<std::string>(), *csrf_))
        return refuse(1008, "the first frame must be {\"type\": \"auth\", \"csrf_token\": ...}");
      return attach();
    }
    if (m.binary) {
      attachment_->input(m.data);
      return true;
    }
    json j = json::parse(m.data, nullptr, false);
    std::string type = frame_type(j);
    if (type == "resize") {
      auto side_of = [&](const char* k) {
        return j.contains(k) && j[k].is_number_integer() ? j[k].get<long long>() : 0;
      };
      long long cols = side_of("cols"), rows = side_of("rows");
      if (cols < 1 || rows < 1 || cols > kMaxSide || rows > kMaxSide)
        return refuse(1008, "resize needs whole cols and rows from 1 to 1000");
      attachment_->resize(static_cast<int>(cols), static_cast<int>(rows));
      return true;
    }
    if (type == "input" && j.contains("data") && j["data"].is_string()) {
      attachment_->input(j["data"].get<std::string>());
      return true;
    }
    return refuse(1003, "text frames are JSON: resize or input; the terminal's bytes are binary");
  }

  bool attach() {
    std::weak_ptr<WebSocket> weak = ws_;
    terminal::Viewer viewer{[weak](std::string bytes) {
                              if (auto ws = weak.lock()) ws->send(std::move(bytes), true);
                            },
                            [weak](std::string how) {
                              if (auto ws = weak.lock()) {
                                ws->send(json{{"type", "exit"}, {"how", how}}.dump(), false);
                                ws->close(1000, "the terminal ended: " + how);
                              }
                            }};
    ws_->send(json{{"type", "attached"}, {"id", id_}}.dump(), false);
    attachment_ = terms_.attach(id_, std::move(viewer));
    if (!attachment_) return refuse(1011, "the terminal has ended");
    return true;
  }

  bool refuse(std::uint16_t code, std::string why) {
    attachment_.reset();
    ws_->close(code, std::move(why));
    return false;
  }

  terminal::Terminals& terms_;
  std::string id_;
  std::shared_ptr<WebSocket> ws_;
  std::optional<std::string> csrf_;  // set: the auth frame comes first
  std::shared_ptr<terminal::Terminals::Attachment> attachment_;
};

http::SocketHandler open_socket(const D& d, ApiRequest& req) {
  auto& terms = enabled(d);
  std::string id = req.params.at("id");
  if (!terms.find(id)) throw ApiError(404, "no such terminal", id);
  std::optional<std::string> csrf;
  if (req.via_session) csrf = req.session_csrf;
  return [&terms, id, csrf](std::shared_ptr<WebSocket> ws) {
    std::make_shared<Link>(terms, id, std::move(ws), csrf)->start();
  };
}

}  // namespace
}  // namespace terminals_routes

void add_terminals_routes(http::Router& router, TerminalsApiDeps deps) {
  using namespace terminals_routes;
  auto d = std::make_shared<const TerminalsApiDeps>(std::move(deps));
  auto run = [d](auto f) { return on_pool(d, d->pool, f); };
  // What create and list answer of a terminal (info_json).
  const s::Properties terminal_fields = {{"id", s::string()},
                                         {"pid", s::integer()},
                                         {"shell", s::string()},
                                         {"cols", s::integer()},
                                         {"rows", s::integer()},
                                         {"viewers", s::integer("WebSockets joined to it now")},
                                         {"created", s::integer("Unix seconds")},
                                         {"last_active", s::integer("Its last input or output")}};
  router.add({"POST", "/terminals", run(create), http::BodyKind::json},
             {"terminals",
              "Start a login shell on a PTY in the workspace, in a session of its own",
              {},
              s::object({{"cols", s::integer()}, {"rows", s::integer()}}),
              s::reply(terminal_fields, {"id", "pid", "cols", "rows"}),
              "",
              {403, 409},
              {{"cols", 120}, {"rows", 40}},
              201});
  router.add({"GET", "/terminals", answers(d, list)},
             {"terminals",
              "The terminals open now",
              {},
              nullptr,
              s::reply({{"terminals",
                         s::array(s::object(terminal_fields, {"id", "pid", "cols", "rows"}))}},
                       {"terminals"}),
              "",
              {403}});
  router.add({"DELETE", "/terminals/{id}", run(remove)},
             {"terminals",
              "End a terminal: its session hung up, everything started in it ended",
              {},
              nullptr,
              s::reply({{"id", s::string()}}, {"id"}),
              "",
              {403, 404}});
  http::Route ws{"GET", "/terminals/{id}/ws", nullptr};
  ws.body_limit = 1u << 20;  // one message: a big paste, not a file transfer
  ws.open_socket = [d](ApiRequest& req) { return open_socket(d, req); };
  router.add(std::move(ws),
             {"terminals",
              "Join a terminal over a WebSocket: its scrollback, then its bytes both ways",
              {},
              nullptr,
              nullptr,
              "",
              {403, 404, 426},
              nullptr,
              101});
}

}  // namespace moccha::api
