// A WebSocket client on an io_context the caller runs: aria2's notifications and `moccha term`.
// Plain ws:// over TCP; Beast's websocket code is kept to ws_client.cpp. Callbacks run on the
// io_context; call the methods from it too (or before it runs).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace moccha {

class WsClient {
 public:
  struct Message {
    std::string data;
    bool binary = false;
  };
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit WsClient(boost::asio::io_context& ioc);
  ~WsClient();  // ends the connection
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to host:port and upgrades at `target`, within `timeout`. `done` gets "" or what
  // failed; a refused upgrade says its HTTP status and the server's error.
  void connect(const std::string& host, int port, const std::string& target, Headers headers,
               std::chrono::seconds timeout, std::function<void(std::string error)> done);
  // The next message; nullopt once the socket is closed (close_reason() says why).
  void read(std::function<void(std::optional<Message>)> done);
  // Queued; messages go out in order.
  void send(std::string data, bool binary);
  // A close frame (1000), then the connection ends; pending reads complete with nullopt.
  void close();
  std::string close_reason() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace moccha
