// The server's WebSockets: a GET the server admitted for a route with `open_socket` is
// answered 101 here and its socket handed to the route's handler as an http::WebSocket. Beast's
// websocket code is kept to websocket_session.cpp; this header is for server.cpp only.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "http/request.h"

namespace moccha::http {

struct WebSocketLimits {
  std::size_t max_message = 1u << 20;  // a bigger message closes the socket (1009)
  std::size_t max_queued = 8u << 20;   // bytes waiting to go out before a slow peer is closed
};

// Every socket that is open, so that shutdown can close them (1001).
class WebSockets {
 public:
  void add(std::weak_ptr<WebSocket> socket);
  void close_all();
  std::size_t open();

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<WebSocket>> sockets_;
};

// Answers the upgrade `request` (already admitted) on `stream`, then calls `handler` with the
// socket; a failed handshake just closes the connection. Returns at once. (A client sends no
// frame before the 101, RFC 6455 4.1, so nothing the HTTP parser buffered is carried over.)
void accept_websocket(boost::beast::tcp_stream stream,
                      boost::beast::http::request<boost::beast::http::empty_body> request,
                      SocketHandler handler, WebSocketLimits limits, WebSockets& registry);

// Upgrade: websocket, with Connection: upgrade.
bool is_websocket_upgrade(const boost::beast::http::request_header<>& header);

}  // namespace moccha::http
