#include "http/server.h"

#include <sys/sendfile.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <unordered_map>

#include "core/log.h"
#include "core/metrics.h"
#include "core/text.h"
#include "http/admission.h"
#include "http/compression.h"
#include "http/gate.h"
#include "http/rate_limiter.h"
#include "http/router.h"
#include "http/web_guard.h"
#include "http/websocket_session.h"

namespace moccha::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string presented_key(const bhttp::request_header<>& h) {
  if (auto it = h.find("X-API-Key"); it != h.end()) return std::string(it->value());
  if (auto it = h.find(bhttp::field::authorization); it != h.end()) return bearer_key(it->value());
  return {};
}

std::string_view field_or(const bhttp::request_header<>& h, bhttp::field f) {
  auto it = h.find(f);
  return it == h.end() ? std::string_view() : std::string_view(it->value());
}

std::optional<std::string_view> optional_field(const bhttp::request_header<>& h,
                                               std::string_view name) {
  auto it = h.find(name);
  if (it == h.end()) return std::nullopt;
  return std::string_view(it->value());
}

// What the gate reads of a header.
RequestHead head_of(const bhttp::request_header<>& h) {
  return {h.method_string(),
          field_or(h, bhttp::field::host),
          presented_key(h),
          optional_field(h, "Cookie"),
          optional_field(h, "Origin"),
          optional_field(h, "Sec-Fetch-Site"),
          optional_field(h, "X-CSRF-Token"),
          iequals(field_or(h, bhttp::field::upgrade), "websocket")};
}

std::optional<std::string> bad_framing(const bhttp::request_header<>& h) {
  auto te = h.find(bhttp::field::transfer_encoding);
  return http::bad_framing(
      te == h.end() ? std::nullopt : std::optional<std::string_view>(te->value()),
      h.count(bhttp::field::transfer_encoding), h.find(bhttp::field::content_length) != h.end());
}

// A parse error of Beast's (as opposed to the peer closing or a timeout).
bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == boost::system::error_code(bhttp::error::header_limit).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
         ec != bhttp::error::need_buffer;
}

// The completion of every connection's coroutine: an exception that escaped it (a bug) ends
// that connection and is logged; it never reaches io_context::run() to end the agent.
void log_escaped(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    log::error("a connection ended on an uncaught exception: {}", x.what());
  } catch (...) {
    log::error("a connection ended on an uncaught non-exception");
  }
}

// What a route's open_sink / open_socket or a sink (on the I/O thread) threw, as the reply:
// ApiError as it says, else a 500.
ApiResponse failure_reply() {
  try {
    throw;
  } catch (const ApiError& e) {
    return ApiResponse::error(e.status, e.what(), e.message);
  } catch (const std::exception& e) {
    log::error("a request failed: {}", e.what());
    return ApiResponse::error(500, "internal error", e.what());
  }
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  struct Connection {
    beast::tcp_stream* stream;
    std::string client;
    bool busy = false;
    bool kept_alive = false;  // has answered a request and waits for the next
    bool evicted = false;
    bool upgraded = false;  // handed to a WebSocket: the stream is no longer ours
    Clock::time_point idle_since = Clock::now();
    // While a handler runs: answers it at once (the shutdown grace is over).
    std::function<void(ApiResponse)> abandon;
  };

  Impl(asio::io_context& ioc, ServerOptions options, const Router& router)
      : ioc(ioc), opt(std::move(options)), router(router), acceptor(ioc), grace_timer(ioc) {
    std::random_device rd;
    id_prefix = rd();
    if (metrics::Registry* m = opt.metrics) {
      requests_total = &m->counter("moccha_http_requests_total",
                                   "HTTP requests answered, by method, route pattern and status");
      request_seconds = &m->histogram(
          "moccha_http_request_duration_seconds",
          "Time from a request's header to the end of its reply, by route pattern",
          {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
      refused_total = &m->counter("moccha_http_refused_total",
                                  "Requests refused before their handler: reason rate_limit "
                                  "(429) or auth (401, a missing or wrong key)");
    }
  }

  asio::io_context& ioc;
  ServerOptions opt;
  const Router& router;
  tcp::acceptor acceptor;
  asio::steady_timer grace_timer;
  RateLimiter limiter;
  Gate gate{opt, limiter};
  std::list<Connection> conns;
  std::unordered_map<std::string, int> per_client;  // open connections by address
  bool stopping = false;
  std::function<void()> on_drained;
  std::function<void()> on_grace_over;
  WebSockets websockets;
  std::uint32_t id_prefix = 0;
  std::uint64_t next_id = 0;

  // Metrics (all null without a registry); `open` is read by the scrape's thread.
  metrics::Counter* requests_total = nullptr;
  metrics::Histogram* request_seconds = nullptr;
  metrics::Counter* refused_total = nullptr;
  std::atomic<std::size_t> open{0};
  // The series each (route, method, status) counts into, found once: the I/O thread's own.
  struct Series {
    std::atomic<double>* requests;
    metrics::Histogram::Series* latency;
  };
  std::map<std::tuple<const Route*, int, int>, Series> series;  // (route, method, status)
  void count(const std::string& method, const Route* route, int status, double seconds);

  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket);
  // Waits until the peer sends something (or closes), for at most `seconds`.
  awaitable<bool> wait_readable(beast::tcp_stream& stream, int seconds);
  // Reads, answers and logs one request; false when the connection is to be closed.
  awaitable<bool> serve_one(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                            Connection& conn);
  awaitable<void> refuse(tcp::socket socket, std::string why);
  bool evict_idle();
  // What one request carries from step to step in serve_one().
  struct Exchange {
    ApiRequest req;
    std::optional<ApiResponse> early;  // the answer, when it is given before the handler
    const Route* route = nullptr;
    bool keep_alive = false;
    bool body_unread = false;
    bool framing_bad = false;
    std::optional<RateLimiter::Decision> rate;
    std::chrono::milliseconds auth_wait{0};
    std::unique_ptr<BodySink> sink;
    SocketHandler on_socket;  // an admitted WebSocket upgrade
    std::size_t limit = 0;
    Clock::time_point started = Clock::now();
  };
  void admit_header(bhttp::request_parser<bhttp::empty_body>& header, Exchange& x);
  awaitable<bool> read_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                            bhttp::request_parser<bhttp::empty_body>& header, Exchange& x);
  awaitable<boost::system::error_code> write_reply(beast::tcp_stream& stream, Exchange& x,
                                                   ApiResponse& resp, std::size_t& bytes);
  awaitable<ApiResponse> invoke(const Route& route, ApiRequest& req, Connection& conn);
  awaitable<std::optional<std::string>> next_piece(BodyStream& body);
  awaitable<boost::system::error_code> send_file(beast::tcp_stream& stream, FileRange& file,
                                                 std::size_t& sent);
  void drained_check();
};

awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) break;
      log::warn("accept failed: {}", ec.message());
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code pec;
    std::string client = socket.remote_endpoint(pec).address().to_string();
    if (per_client[client] >= opt.limits.max_connections_per_client) {
      asio::co_spawn(ioc, refuse(std::move(socket), "too many connections from your address"),
                     log_escaped);
      continue;
    }
    // A full table makes room by closing the connection that has idled longest between
    // requests, as nginx does; only when none idles is the newcomer refused.
    if (conns.size() >= static_cast<std::size_t>(opt.limits.max_connections) && !evict_idle()) {
      asio::co_spawn(ioc, refuse(std::move(socket), "too many connections, retry later"),
                     log_escaped);
      continue;
    }
    // Replies go out as soon as they are written: a header and a body written apart must not
    // wait on Nagle's algorithm for the client's delayed ACK (40 ms a request).
    socket.set_option(tcp::no_delay(true), pec);
    asio::co_spawn(ioc, session(std::move(socket)), log_escaped);
  }
}

awaitable<void> Server::Impl::refuse(tcp::socket socket, std::string why) {
  // Written by Beast like every other reply, so its framing cannot go wrong by hand.
  bhttp::response<bhttp::string_body> res{bhttp::status::service_unavailable, 11};
  res.set(bhttp::field::server, "moccha");
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::retry_after, "1");
  res.body() = ApiResponse::error(503, std::move(why)).json.dump() + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, use_tuple);
  auto& sock = stream.socket();
  boost::system::error_code ec;
  sock.shutdown(tcp::socket::shutdown_both, ec);
}

bool Server::Impl::evict_idle() {
  Connection* oldest = nullptr;
  for (auto& c : conns)
    if (!c.busy && c.kept_alive && !c.evicted && (!oldest || c.idle_since < oldest->idle_since))
      oldest = &c;
  if (!oldest) return false;
  oldest->evicted = true;
  oldest->stream->cancel();
  return true;
}

awaitable<ApiResponse> Server::Impl::invoke(const Route& route, ApiRequest& req, Connection& conn) {
  auto ex = co_await asio::this_coro::executor;
  ApiResponse response =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(ApiResponse)>(
          [&](auto completion) {
            using Completion = decltype(completion);
            auto slot = std::make_shared<std::optional<Completion>>(std::move(completion));
            // Delivered on the I/O thread whichever thread answers; only the first answer counts.
            auto deliver = [slot, ex](ApiResponse r) {
              asio::post(ex, [slot, r = std::move(r)]() mutable {
                if (!*slot) return;
                Completion c = std::move(**slot);
                slot->reset();
                std::move(c)(std::move(r));
              });
            };
            conn.abandon = deliver;
            try {
              route.handler(req, Responder(deliver));
            } catch (const ApiError& e) {
              deliver(ApiResponse::error(e.status, e.what(), e.message));
            } catch (const nlohmann::json::exception& e) {
              deliver(ApiResponse::error(400, "invalid request", e.what()));
            } catch (const std::exception& e) {
              log::error("{} {} {}: handler threw: {}", req.request_id, req.method, req.path,
                         e.what());
              deliver(ApiResponse::error(500, "internal error", e.what()));
            }
          },
          asio::use_awaitable);
  conn.abandon = nullptr;
  co_return response;
}

awaitable<std::optional<std::string>> Server::Impl::next_piece(BodyStream& body) {
  using Piece = std::optional<std::string>;
  auto ex = co_await asio::this_coro::executor;
  Piece piece = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Piece)>(
      [&](auto completion) {
        using Completion = decltype(completion);
        auto slot = std::make_shared<std::optional<Completion>>(std::move(completion));
        body.next([slot, ex](Piece p) {
          asio::post(ex, [slot, p = std::move(p)]() mutable {
            if (!*slot) return;
            Completion c = std::move(**slot);
            slot->reset();
            std::move(c)(std::move(p));
          });
        });
      },
      asio::use_awaitable);
  co_return piece;
}

awaitable<boost::system::error_code> Server::Impl::send_file(beast::tcp_stream& stream,
                                                             FileRange& file, std::size_t& sent) {
  auto& sock = stream.socket();
  boost::system::error_code ec;
  sock.non_blocking(true, ec);
  if (ec) co_return ec;
  off_t offset = static_cast<off_t>(file.offset);
  std::uint64_t left = file.length;
  asio::steady_timer deadline(ioc);
  while (left > 0) {
    ssize_t n = ::sendfile(sock.native_handle(), file.fd, &offset,
                           static_cast<std::size_t>(std::min<std::uint64_t>(left, 16u << 20)));
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) co_return asio::error::eof;  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno != EAGAIN)
      co_return boost::system::error_code(errno, boost::system::system_category());
    // Wait until the socket drains, but not forever: a stalled client is cut.
    deadline.expires_after(std::chrono::seconds(opt.limits.request_timeout_s));
    bool expired = false;
    deadline.async_wait([&](boost::system::error_code e) {
      if (!e) {
        expired = true;
        sock.cancel();
      }
    });
    auto [wec] = co_await sock.async_wait(tcp::socket::wait_write, use_tuple);
    deadline.cancel();
    if (expired) co_return beast::error::timeout;
    if (wec) co_return wec;
  }
  co_return boost::system::error_code{};
}

void Server::Impl::count(const std::string& method, const Route* route, int status,
                         double seconds) {
  if (!requests_total) return;
  // Bounded label values only: a route's pattern, never a raw path; a known method or "other".
  static const char* const kMethods[] = {"GET",    "HEAD",  "POST",   "PUT",
                                         "DELETE", "PATCH", "OPTIONS"};
  int m = 0;
  while (m < 7 && method != kMethods[m]) ++m;
  auto key = std::make_tuple(route, m, status);
  auto it = series.find(key);
  if (it == series.end()) {
    std::string pattern = route ? route->pattern : std::string("unmatched");
    Series s{&requests_total->slot({{"method", m < 7 ? kMethods[m] : "other"},
                                    {"route", pattern},
                                    {"status", std::to_string(status)}}),
             &request_seconds->series({{"route", pattern}})};
    it = series.emplace(key, s).first;
  }
  it->second.requests->fetch_add(1);
  request_seconds->observe(*it->second.latency, seconds);
  if (status == 429) refused_total->inc({{"reason", "rate_limit"}});
  if (status == 401) refused_total->inc({{"reason", "auth"}});
}

awaitable<void> Server::Impl::session(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  boost::system::error_code ec;
  std::string client = stream.socket().remote_endpoint(ec).address().to_string();
  auto me = conns.insert(conns.end(), Connection{&stream, client});
  ++per_client[client];
  ++open;
  struct Unlist {
    Impl* impl;
    std::list<Connection>::iterator it;
    ~Unlist() {
      --impl->open;
      if (--impl->per_client[it->client] <= 0) impl->per_client.erase(it->client);
      impl->conns.erase(it);
      impl->drained_check();
    }
  } unlist{this, me};
  beast::flat_buffer buffer;
  const auto& lim = opt.limits;

  // An idle connection holds only this frame, the stream and an empty buffer: the request's
  // parser, body and reply live in serve_one()'s frame, which exists while a request does.
  for (bool first = true; !stopping; first = false) {
    me->busy = false;
    me->idle_since = Clock::now();
    if (buffer.size() == 0) {
      buffer.shrink_to_fit();
      if (!co_await wait_readable(stream, first ? lim.header_timeout_s : lim.idle_timeout_s)) break;
    }
    me->busy = true;
    if (!co_await serve_one(stream, buffer, *me)) break;
    me->kept_alive = true;
  }
  if (!me->upgraded) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<bool> Server::Impl::wait_readable(beast::tcp_stream& stream, int seconds) {
  asio::steady_timer deadline(ioc, std::chrono::seconds(seconds));
  bool expired = false;
  deadline.async_wait([&](boost::system::error_code e) {
    if (!e) {
      expired = true;
      stream.socket().cancel();
    }
  });
  auto [ec] = co_await stream.socket().async_wait(tcp::socket::wait_read, use_tuple);
  deadline.cancel();
  co_return !ec && !expired;
}

// One request, in its steps: the header; its admission (framing, auth, rate limit, route,
// limits), all before any body byte is read; the body; the handler; the reply; the record.
awaitable<bool> Server::Impl::serve_one(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        Connection& conn) {
  const auto& lim = opt.limits;
  bhttp::request_parser<bhttp::empty_body> header;
  header.header_limit(static_cast<std::uint32_t>(lim.max_header_bytes));
  header.body_limit(std::numeric_limits<std::uint64_t>::max());  // the route's limit applies
  // Bytes have come: the whole header must follow within the header timeout (slowloris).
  stream.expires_after(std::chrono::seconds(lim.header_timeout_s));
  auto [rec, rn] = co_await bhttp::async_read_header(stream, buffer, header, use_tuple);
  (void)rn;
  conn.busy = true;
  Exchange x;
  x.req.client = conn.client;
  if (rec) {
    if (rec == bhttp::error::header_limit) {
      x.early = ApiResponse::error(431, "request header too large",
                                   fmt::format("limit {} bytes", lim.max_header_bytes));
    } else if (is_parse_error(rec)) {
      x.early = ApiResponse::error(400, "malformed HTTP request", rec.message());
    } else {
      co_return false;  // closed, timed out or cancelled
    }
    x.req.method = "-";
  }
  x.req.request_id = fmt::format("{:08x}{:08x}", id_prefix, ++next_id);

  if (!x.early) admit_header(header, x);
  if (!x.early && !co_await read_body(stream, buffer, header, x)) co_return false;
  if (!x.early && x.on_socket) {
    log::write("access", fmt::format("{} {} \"{} {}\" 101 0 -", x.req.request_id, conn.client,
                                     x.req.method, x.req.path));
    count(x.req.method, x.route, 101, 0);
    conn.upgraded = true;
    WebSocketLimits wl;
    wl.max_message = x.limit;
    accept_websocket(std::move(stream), header.release(), std::move(x.on_socket), wl, websockets);
    co_return false;
  }

  // (No co_await inside a conditional expression: g++ 12 miscompiles it.)
  ApiResponse resp;
  if (x.early) {
    resp = std::move(*x.early);
  } else {
    resp = co_await invoke(*x.route, x.req, conn);
  }
  if (x.auth_wait.count() > 0) {
    asio::steady_timer t(ioc, x.auth_wait);
    co_await t.async_wait(use_tuple);
  }
  if (x.rate && resp.status != 429) add_rate_headers(resp, *x.rate);
  // A body we did not read cannot be skipped reliably: close after answering.
  if (x.body_unread || x.framing_bad || stopping || resp.status >= 500 || rec) x.keep_alive = false;

  std::size_t bytes = 0;
  boost::system::error_code wec = co_await write_reply(stream, x, resp, bytes);

  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - x.started);
  log::write("access", fmt::format("{} {} \"{} {}\" {} {} {:.3f}ms", x.req.request_id, conn.client,
                                   x.req.method, x.req.path.empty() ? "-" : x.req.path, resp.status,
                                   bytes, micros.count() / 1000.0));
  count(x.req.method, x.route, resp.status, micros.count() / 1e6);
  co_return !wec && x.keep_alive;
}

// The request line and headers: the target, the route, then admit() (auth, rate, method) and
// the route's own refusal before its body (a sink's open_sink). Sets x.early to refuse.
void Server::Impl::admit_header(bhttp::request_parser<bhttp::empty_body>& header, Exchange& x) {
  const auto& lim = opt.limits;
  const auto& h = header.get();
  x.keep_alive = h.keep_alive();
  x.req.method = std::string(h.method_string());
  std::string target_text = origin_form(h.target());
  std::string_view target = target_text;
  std::string_view raw_path = target.substr(0, target.find('?'));
  if (auto q = target.find('?'); q != std::string_view::npos)
    x.req.query = parse_query(target.substr(q + 1));
  percent_decode(raw_path, x.req.path);
  x.req.head_only = h.method() == bhttp::verb::head;
  Router::Match match = router.find(x.req.method, raw_path);
  x.body_unread = !header.is_done();
  if (auto why = bad_framing(h)) {
    x.early = ApiResponse::error(400, "malformed HTTP request", *why);
    x.framing_bad = true;
  } else {
    x.early = gate.admit(head_of(h), match, x.req.client, x.req, x.rate, x.auth_wait);
  }
  x.route = match.route;
  if (x.early) return;
  x.req.params = std::move(match.params);
  if (x.req.head_only) x.req.method = "GET";
  for (const auto& f : h) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    x.req.headers[name] = std::string(f.value());
  }
  if (x.route->open_socket) {
    if (!is_websocket_upgrade(h)) {
      x.early = ApiResponse::error(426, "WebSocket upgrade required",
                                   "open it with a WebSocket client (Upgrade: websocket)");
      x.early->headers.emplace_back("Upgrade", "websocket");
      return;
    }
    try {
      x.on_socket = x.route->open_socket(x.req);  // may refuse (404, 403) before the 101
    } catch (...) {
      x.early = failure_reply();
    }
  }
  if (x.route->body == BodyKind::stream) {
    try {
      x.sink = x.route->open_sink(x.req);  // may refuse (403, 409, ...) before any body is read
    } catch (...) {
      x.early = failure_reply();
    }
  }
  x.limit = x.route->body_limit ? x.route->body_limit : lim.max_body_bytes;
  if (x.sink) {
    x.limit = x.route->body_limit        ? x.route->body_limit
              : lim.max_upload_bytes > 0 ? lim.max_upload_bytes
                                         : std::numeric_limits<std::size_t>::max();
  }
}

// The body: streamed to the route's sink as it arrives (never held whole), or read into
// req.body (within the route's limit) and parsed for a JSON route. Sets x.early to refuse;
// false when the client went away or stalled and there is nobody to answer.
awaitable<bool> Server::Impl::read_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                        bhttp::request_parser<bhttp::empty_body>& header,
                                        Exchange& x) {
  const auto& lim = opt.limits;
  const auto& h = header.get();
  if (!x.early && x.body_unread && x.sink) {
    if (header.content_length() && *header.content_length() > x.limit) {
      x.early =
          ApiResponse::error(413, "request body too large", fmt::format("limit {} bytes", x.limit));
    } else {
      if (bhttp::token_list(header.get()[bhttp::field::expect]).exists("100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, use_tuple);
        if (wec) co_return false;
      }
      // Streamed to the sink as it arrives: never held in memory.
      std::vector<char> chunk(1u << 20);
      bool failed = false;
      auto deliver = [&](const char* data, std::size_t n) {
        try {
          x.sink->write(data, n);
        } catch (...) {
          x.early = failure_reply();
        }
      };
      if (auto length = header.content_length()) {
        // A known length: read straight into our buffer, a megabyte a read, past Beast's
        // parser (which copies and reads 64 KiB at a time).
        std::uint64_t left = *length;
        std::size_t buffered =
            static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
        if (buffered) {
          deliver(static_cast<const char*>(buffer.data().data()), buffered);
          buffer.consume(buffered);
          left -= buffered;
        }
        while (left > 0 && !x.early) {
          // The deadline is per read: a slow but moving upload lives, a stalled one is cut.
          stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
          std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
          auto [rec2, n] =
              co_await stream.async_read_some(asio::buffer(chunk.data(), want), use_tuple);
          if (rec2) {
            failed = true;
            break;
          }
          left -= n;
          deliver(chunk.data(), n);
        }
        failed = failed || x.early.has_value();
      } else {
        bhttp::request_parser<bhttp::buffer_body> body(std::move(header));
        body.body_limit(x.limit);
        // Beast reads at most what the buffer has room for: make room, give it back after.
        buffer.reserve(64u << 10);
        while (!body.is_done()) {
          body.get().body().data = chunk.data();
          body.get().body().size = chunk.size();
          stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
          auto [bec, bn] = co_await bhttp::async_read(stream, buffer, body, use_tuple);
          if (bec == bhttp::error::need_buffer) bec = {};
          std::size_t got = chunk.size() - body.get().body().size;
          if (!bec && got > 0) deliver(chunk.data(), got);
          if (bec == bhttp::error::body_limit) {
            x.early = ApiResponse::error(413, "request body too large",
                                         fmt::format("limit {} bytes", x.limit));
          } else if (is_parse_error(bec) && !x.early) {
            x.early = ApiResponse::error(400, "malformed request body", bec.message());
          }
          if (bec || x.early) {
            failed = true;
            break;
          }
        }
      }
      buffer.shrink_to_fit();
      if (failed) {
        x.sink->abort();
        x.sink.reset();
        if (!x.early) co_return false;  // the client went away or stalled: nobody to answer
      } else {
        x.body_unread = false;
      }
    }
  }
  if (!x.early && x.sink) {
    try {
      x.early = x.sink->finish();
    } catch (...) {
      x.sink->abort();
      x.early = failure_reply();
    }
    x.sink.reset();
  }
  if (!x.early && x.body_unread) {
    if (header.content_length() && *header.content_length() > x.limit) {
      x.early =
          ApiResponse::error(413, "request body too large", fmt::format("limit {} bytes", x.limit));
    } else {
      if (bhttp::token_list(h[bhttp::field::expect]).exists("100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, use_tuple);
        if (wec) co_return false;
      }
      bhttp::request_parser<bhttp::string_body> body(std::move(header));
      body.body_limit(x.limit);
      stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, body, use_tuple);
      if (bec == bhttp::error::body_limit) {
        x.early = ApiResponse::error(413, "request body too large",
                                     fmt::format("limit {} bytes", x.limit));
      } else if (is_parse_error(bec)) {
        x.early = ApiResponse::error(400, "malformed request body", bec.message());
      } else if (bec) {
        co_return false;
      } else {
        x.body_unread = false;
        x.req.body = body.release().body();
      }
    }
  }
  if (!x.early && x.route->body == BodyKind::json && !x.req.body.empty()) {
    x.req.json = nlohmann::json::parse(x.req.body, nullptr, false);
    if (x.req.json.is_discarded())
      x.early = ApiResponse::error(400, "malformed JSON", "the request body is not valid JSON");
  }
  co_return true;
}

// The reply: headers, then the body as the handler gave it (a string, gzipped when large and
// the client takes it; a file by sendfile; a stream piece by piece, chunked unless its length
// is known), HEAD answered with the headers alone. `bytes` is what the body put on the wire.
awaitable<boost::system::error_code> Server::Impl::write_reply(beast::tcp_stream& stream,
                                                               Exchange& x, ApiResponse& resp,
                                                               std::size_t& bytes) {
  const auto& lim = opt.limits;
  ApiRequest& req = x.req;
  bool keep_alive = x.keep_alive;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(resp.status), 11};
  res.set(bhttp::field::server, "moccha");
  res.set(bhttp::field::content_type, resp.content_type);
  res.set("X-Request-Id", req.request_id);
  // On every reply, the dashboard's pages set their own policy: nothing here runs as a page
  // (a user's file opened in a tab included), is framed, sniffed or leaks the address.
  res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; sandbox");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
  for (auto& [k, v] : resp.headers) res.set(k, v);
  res.body() =
      resp.body ? std::move(*resp.body)
                : resp.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  // Replies of a kilobyte or more go gzipped to a client that takes it; small ones (most, and
  // /status) are not worth the time.
  if (!resp.file && !resp.stream && res.body().size() >= 1024 &&
      resp.content_type == "application/json" &&
      res.find(bhttp::field::content_encoding) == res.end()) {
    res.set(bhttp::field::vary, "Accept-Encoding");
    if (accepts_gzip(req.headers["accept-encoding"])) {
      if (auto z = gzip(res.body())) {
        res.body() = std::move(*z);
        res.set(bhttp::field::content_encoding, "gzip");
      }
    }
  }
  res.keep_alive(keep_alive);
  res.prepare_payload();
  bytes = res.body().size();
  stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
  boost::system::error_code wec;
  if (resp.file && !req.head_only) {
    bhttp::response<bhttp::empty_body> head{res.base()};
    head.content_length(resp.file->length);
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    auto [e, n] = co_await bhttp::async_write_header(stream, sr, use_tuple);
    wec = e;
    bytes = 0;
    if (!wec) wec = co_await send_file(stream, *resp.file, bytes);
    resp.file.reset();
  } else if (resp.stream && !req.head_only) {
    bhttp::response<bhttp::empty_body> head{res.base()};
    bool chunked = !resp.stream_length;
    if (chunked) {
      head.erase(bhttp::field::content_length);
      head.chunked(true);
    } else {
      head.content_length(*resp.stream_length);
    }
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    auto [e, n] = co_await bhttp::async_write_header(stream, sr, use_tuple);
    wec = e;
    bytes = 0;
    while (!wec) {
      std::optional<std::string> piece = co_await next_piece(*resp.stream);
      // Each piece refreshes the deadline: a slow but live stream is never cut.
      stream.expires_after(std::chrono::seconds(lim.request_timeout_s));
      if (!piece) {
        if (chunked) {
          auto [e2, n2] = co_await asio::async_write(stream, bhttp::make_chunk_last(), use_tuple);
          wec = e2;
        } else if (bytes != *resp.stream_length) {
          wec = asio::error::connection_aborted;  // short body: the client must not trust it
        }
        break;
      }
      if (piece->empty()) continue;
      bytes += piece->size();
      if (chunked) {
        auto [e2, n2] =
            co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(*piece)), use_tuple);
        wec = e2;
      } else {
        auto [e2, n2] = co_await asio::async_write(stream, asio::buffer(*piece), use_tuple);
        wec = e2;
      }
    }
    resp.stream.reset();
  } else if (req.head_only) {
    bhttp::response<bhttp::empty_body> head{res.base()};
    head.content_length(resp.file            ? resp.file->length
                        : resp.stream_length ? *resp.stream_length
                                             : bytes);
    auto [e, n] = co_await bhttp::async_write(stream, head, use_tuple);
    wec = e;
    bytes = 0;
  } else {
    auto [e, n] = co_await bhttp::async_write(stream, res, use_tuple);
    wec = e;
  }
  co_return wec;
}

void Server::Impl::drained_check() {
  if (stopping && conns.empty() && on_drained) {
    grace_timer.cancel();
    auto done = std::move(on_drained);
    on_drained = nullptr;
    asio::post(ioc, std::move(done));
  }
}

Server::Server(asio::io_context& ioc, ServerOptions options, const Router& router)
    : impl_(std::make_shared<Impl>(ioc, std::move(options), router)) {
  if (metrics::Registry* m = impl_->opt.metrics) {
    std::weak_ptr<Impl> weak = impl_;
    m->collect([weak](metrics::Exposition& e) {
      auto impl = weak.lock();
      if (!impl) return;
      e.family("moccha_http_connections_open", "gauge", "Client connections open now");
      e.sample("moccha_http_connections_open", {}, static_cast<double>(impl->open.load()));
    });
  }
}

Server::~Server() = default;

unsigned short Server::listen() {
  auto address = asio::ip::make_address(impl_->opt.host);
  tcp::endpoint ep(address, impl_->opt.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  return impl_->acceptor.local_endpoint().port();
}

void Server::start() {
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

void Server::shutdown(std::function<void()> done, std::function<void()> grace_over) {
  Impl& s = *impl_;
  s.stopping = true;
  s.on_drained = std::move(done);
  s.on_grace_over = std::move(grace_over);
  boost::system::error_code ec;
  s.acceptor.close(ec);
  s.websockets.close_all();
  for (auto& c : s.conns)
    if (!c.busy) c.stream->cancel();
  s.grace_timer.expires_after(std::chrono::seconds(s.opt.limits.shutdown_grace_s));
  s.grace_timer.async_wait([impl = impl_](boost::system::error_code e) {
    if (e) return;
    log::warn("shutdown grace period over; closing {} connection(s)", impl->conns.size());
    // A request still in its handler gets a reply rather than a cut connection; the rest
    // (replies being written, streams) are closed.
    bool answered = false;
    for (auto& c : impl->conns) {
      if (c.abandon) {
        c.abandon(ApiResponse::error(503, "the agent is shutting down",
                                     "the request did not finish within the shutdown grace"));
        c.abandon = nullptr;
        answered = true;
      } else {
        c.stream->close();
      }
    }
    if (impl->on_grace_over) impl->on_grace_over();
    if (answered) {
      // Their replies are written within a second, or cut.
      impl->grace_timer.expires_after(std::chrono::seconds(1));
      impl->grace_timer.async_wait([impl](boost::system::error_code) {
        for (auto& c : impl->conns) c.stream->close();
        if (impl->on_drained) {
          auto done = std::move(impl->on_drained);
          impl->on_drained = nullptr;
          asio::post(impl->ioc, std::move(done));
        }
      });
      return;
    }
    // A response waiting on a stream that never ends must not hold the agent up.
    if (impl->on_drained) {
      auto done = std::move(impl->on_drained);
      impl->on_drained = nullptr;
      asio::post(impl->ioc, std::move(done));
    }
  });
  s.drained_check();
}

std::size_t Server::connections() const {
  return impl_->conns.size();
}

}  // namespace moccha::http
