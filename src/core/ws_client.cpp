#include "core/ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <nlohmann/json.hpp>

namespace moccha {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& ioc) : resolver(ioc), ws(ioc) {}
  tcp::resolver resolver;
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer in;
  std::deque<Message> out;
  bool writing = false, open = false, closing = false;
  std::string reason;

  void write_next() {
    if (writing || out.empty() || !open) return;
    writing = true;
    ws.binary(out.front().binary);
    ws.async_write(asio::buffer(out.front().data),
                   [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                     self->writing = false;
                     if (ec) return self->out.clear();
                     self->out.pop_front();
                     if (!self->out.empty()) return self->write_next();
                     if (self->closing) self->finish_close();
                   });
  }
  void finish_close() {
    if (!open) return;
    open = false;
    ws.async_close(websocket::close_code::normal,
                   [self = shared_from_this()](boost::system::error_code) {
                     beast::get_lowest_layer(self->ws).close();
                   });
  }
};

WsClient::WsClient(asio::io_context& ioc) : impl_(std::make_shared<Impl>(ioc)) {}

WsClient::~WsClient() {
  boost::system::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

void WsClient::connect(const std::string& host, int port, const std::string& target,
                       Headers headers, std::chrono::seconds timeout,
                       std::function<void(std::string)> done) {
  auto impl = impl_;
  auto finish = std::make_shared<std::function<void(std::string)>>(std::move(done));
  std::string authority = host + ":" + std::to_string(port);
  impl->resolver.async_resolve(
      host, std::to_string(port),
      [impl, finish, authority, target, headers = std::move(headers), timeout](
          boost::system::error_code ec, tcp::resolver::results_type found) {
        if (ec) return (*finish)("cannot resolve " + authority + ": " + ec.message());
        auto& tcp_layer = beast::get_lowest_layer(impl->ws);
        tcp_layer.expires_after(timeout);
        tcp_layer.async_connect(found, [impl, finish, authority, target, headers](
                                           boost::system::error_code ec, const tcp::endpoint&) {
          if (ec) return (*finish)("cannot connect to " + authority + ": " + ec.message());
          impl->ws.set_option(
              websocket::stream_base::decorator([headers](websocket::request_type& req) {
                for (const auto& [k, v] : headers) req.set(k, v);
              }));
          auto res = std::make_shared<websocket::response_type>();
          impl->ws.async_handshake(
              *res, authority, target, [impl, finish, res](boost::system::error_code ec) {
                if (ec) {
                  if (res->result_int() != 0 && res->result_int() != 101) {
                    auto j = nlohmann::json::parse(res->body(), nullptr, false);
                    std::string why = j.is_object() ? j.value("error", "") : "";
                    if (j.is_object() && j.contains("message") && j["message"].is_string())
                      why += ": " + j["message"].get<std::string>();
                    return (*finish)("HTTP " + std::to_string(res->result_int()) +
                                     (why.empty() ? "" : " " + why));
                  }
                  return (*finish)("WebSocket handshake failed: " + ec.message());
                }
                beast::get_lowest_layer(impl->ws).expires_never();
                impl->ws.set_option(
                    websocket::stream_base::timeout::suggested(beast::role_type::client));
                impl->open = true;
                impl->write_next();
                (*finish)("");
              });
        });
      });
}

void WsClient::read(std::function<void(std::optional<Message>)> done) {
  auto impl = impl_;
  impl->ws.async_read(impl->in, [impl, done = std::move(done)](boost::system::error_code ec,
                                                               std::size_t) {
    if (ec) {
      impl->open = false;
      const auto& r = impl->ws.reason();
      impl->reason =
          ec == websocket::error::closed
              ? std::to_string(r.code) +
                    (r.reason.empty() ? "" : " " + std::string(r.reason.data(), r.reason.size()))
              : ec.message();
      return done(std::nullopt);
    }
    Message m{beast::buffers_to_string(impl->in.data()), impl->ws.got_binary()};
    impl->in.consume(impl->in.size());
    done(std::move(m));
  });
}

void WsClient::send(std::string data, bool binary) {
  if (impl_->closing) return;
  impl_->out.push_back({std::move(data), binary});
  impl_->write_next();
}

void WsClient::close() {
  if (impl_->closing) return;
  impl_->closing = true;
  if (!impl_->writing) impl_->finish_close();
}

std::string WsClient::close_reason() const {
  return impl_->reason;
}

}  // namespace moccha
