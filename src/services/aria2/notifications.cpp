#include "services/aria2/notifications.h"

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/ws_client.h"

namespace moccha::aria2 {

Notifications::Notifications(int port, OnEvent on_event, std::function<void()> on_connect)
    : port_(port),
      on_event_(std::move(on_event)),
      on_connect_(std::move(on_connect)),
      thread_([this] { loop(); }) {}

Notifications::~Notifications() {
  stop_ = true;
  thread_.join();
}

void Notifications::loop() {
  using namespace std::chrono_literals;
  while (!stop_) {
    boost::asio::io_context ioc;
    WsClient ws(ioc);
    bool over = false;
    std::function<void()> next = [&] {
      ws.read([&](std::optional<WsClient::Message> m) {
        if (!m) {
          over = true;
          return;
        }
        take(m->data);
        next();
      });
    };
    ws.connect("127.0.0.1", port_, "/jsonrpc", {}, 3s, [&](std::string error) {
      if (!error.empty()) {
        over = true;
        return;
      }
      connected_ = true;
      if (on_connect_) on_connect_();
      next();
    });
    while (!over && !stop_) {
      ioc.restart();
      ioc.run_for(200ms);
    }
    connected_ = false;
    if (!over) {  // told to stop: a close frame, for at most a second
      ws.close();
      ioc.restart();
      ioc.run_for(1s);
    }
    for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(100ms);
  }
}

void Notifications::take(const std::string& text) {
  // aria2's text, but never trusted to be well formed: a throw here would end the thread.
  auto msg = nlohmann::json::parse(text, nullptr, false);
  if (!msg.is_object() || !msg.contains("method") || !msg["method"].is_string()) return;
  const std::string method = msg["method"].get<std::string>();
  auto params = msg.find("params");
  if (params == msg.end() || !params->is_array() || params->empty() || !(*params)[0].is_object())
    return;
  auto gid = (*params)[0].find("gid");
  if (gid == (*params)[0].end() || !gid->is_string() || gid->get<std::string>().empty()) return;
  try {
    on_event_(method, gid->get<std::string>());
  } catch (const std::exception& e) {
    log::warn("aria2 notification {} for {}: {}", method, gid->get<std::string>(), e.what());
  }
}

}  // namespace moccha::aria2
