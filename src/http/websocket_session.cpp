#include "http/websocket_session.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

#include "core/log.h"

namespace moccha::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

// One accepted socket. Its state is the I/O thread's: the public methods post to it.
class BeastSocket : public WebSocket, public std::enable_shared_from_this<BeastSocket> {
 public:
  BeastSocket(beast::tcp_stream stream, WebSocketLimits limits)
      : ws_(std::move(stream)), limits_(limits) {}

  void accept(beast::http::request<beast::http::empty_body> request, SocketHandler handler) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(limits_.max_message);
    auto req = std::make_shared<decltype(request)>(std::move(request));
    ws_.async_accept(*req, [self = shared_from_this(), req,
                            handler = std::move(handler)](boost::system::error_code ec) {
      if (ec) {
        log::info("a WebSocket handshake failed: {}", ec.message());
        return;
      }
      handler(self);
    });
  }

  void read(std::function<void(std::optional<Message>)> done) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), done = std::move(done)]() mutable {
      if (self->closing_ || self->reading_) return done(std::nullopt);
      self->reading_ = true;
      self->ws_.async_read(
          self->in_, [self, done = std::move(done)](boost::system::error_code ec, std::size_t) {
            self->reading_ = false;
            if (ec) {
              if (ec == websocket::error::message_too_big)
                log::warn("closed a WebSocket: a message over {} bytes", self->limits_.max_message);
              self->closing_ = true;
              return done(std::nullopt);
            }
            Message m{beast::buffers_to_string(self->in_.data()), self->ws_.got_binary()};
            self->in_.consume(self->in_.size());
            // A handler that throws on a message ends this socket, never the I/O thread.
            try {
              done(std::move(m));
            } catch (const std::exception& e) {
              log::error("a WebSocket handler failed: {}", e.what());
              self->begin_close(websocket::close_code::internal_error, "internal error");
            }
          });
    });
  }

  void send(std::string data, bool binary) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), data = std::move(data),
                                    binary]() mutable {
      if (self->closing_) return;
      self->queued_ += data.size();
      self->out_.push_back({std::move(data), binary});
      if (self->queued_ > self->limits_.max_queued) {
        log::warn("closed a WebSocket whose peer did not keep up ({} bytes waiting)",
                  self->queued_);
        self->out_.clear();
        self->queued_ = 0;
        return self->begin_close(websocket::close_code::policy_error, "the client did not keep up");
      }
      self->write_next();
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
      self->begin_close(static_cast<websocket::close_code>(code), reason);
    });
  }

 private:
  void begin_close(websocket::close_code code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(code, reason.substr(0, 120));  // ours: ASCII
    if (!writing_) finish_close();
  }

  void finish_close() {
    writing_ = true;
    ws_.async_close(close_reason_, [self = shared_from_this()](boost::system::error_code) {
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  void write_next() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    ws_.binary(out_.front().binary);
    ws_.async_write(asio::buffer(out_.front().data),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        self->out_.clear();
                        self->queued_ = 0;
                        self->closing_ = true;
                        return;
                      }
                      if (!self->out_.empty()) {
                        self->queued_ -= self->out_.front().data.size();
                        self->out_.pop_front();
                      }
                      if (!self->out_.empty()) return self->write_next();
                      if (self->closing_) self->finish_close();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  WebSocketLimits limits_;
  beast::flat_buffer in_;
  std::deque<Message> out_;
  std::size_t queued_ = 0;
  bool reading_ = false, writing_ = false, closing_ = false;
  websocket::close_reason close_reason_;
};

}  // namespace

void WebSockets::add(std::weak_ptr<WebSocket> socket) {
  std::lock_guard lock(mu_);
  std::erase_if(sockets_, [](const auto& w) { return w.expired(); });
  sockets_.push_back(std::move(socket));
}

void WebSockets::close_all() {
  std::vector<std::weak_ptr<WebSocket>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(sockets_);
  }
  for (auto& w : all)
    if (auto s = w.lock()) s->close(1001, "the agent is stopping");
}

std::size_t WebSockets::open() {
  std::lock_guard lock(mu_);
  std::erase_if(sockets_, [](const auto& w) { return w.expired(); });
  return sockets_.size();
}

bool is_websocket_upgrade(const beast::http::request_header<>& header) {
  return websocket::is_upgrade(header);
}

void accept_websocket(beast::tcp_stream stream,
                      beast::http::request<beast::http::empty_body> request, SocketHandler handler,
                      WebSocketLimits limits, WebSockets& registry) {
  stream.expires_never();  // the websocket's own timeouts apply from here
  auto socket = std::make_shared<BeastSocket>(std::move(stream), limits);
  registry.add(socket);
  socket->accept(std::move(request), std::move(handler));
}

}  // namespace moccha::http
