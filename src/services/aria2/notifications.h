// aria2's push notifications over its WebSocket (ws://127.0.0.1:PORT/jsonrpc):
// {"jsonrpc": "2.0", "method": "aria2.onDownloadComplete", "params": [{"gid": ...}]}, and
// onDownloadStart, onDownloadPause, onDownloadStop, onDownloadError, onBtDownloadComplete.
// A thread of its own reads them and calls `on_event(method, gid)`; it reconnects while aria2
// restarts, and calls `on_connect` after each connection (to catch up on what it missed).
// Over http::WsClient, on a thread of its own with its own io_context.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace moccha::aria2 {

class Notifications {
 public:
  using OnEvent = std::function<void(const std::string& method, const std::string& gid)>;
  Notifications(int port, OnEvent on_event, std::function<void()> on_connect);
  ~Notifications();  // stops within a fraction of a second

  bool connected() const { return connected_; }

 private:
  void loop();
  void take(const std::string& message);
  int port_;
  OnEvent on_event_;
  std::function<void()> on_connect_;
  std::atomic<bool> stop_{false}, connected_{false};
  std::thread thread_;
};

}  // namespace moccha::aria2
