#include "services/aria2/notifications.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "core/log.h"

namespace moccha::aria2 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

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
    asio::io_context ioc;
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::flat_buffer buffer;
    bool done = false;
    boost::system::error_code ec;
    // Runs the io_context until the current operation completes or we are told to stop.
    auto wait = [&] {
      while (!done && !stop_) {
        ioc.restart();
        ioc.run_for(200ms);
      }
      if (!done) {
        beast::get_lowest_layer(ws).cancel();
        ioc.restart();
        ioc.run_for(1s);
      }
      return done && !ec;
    };
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_));
    beast::get_lowest_layer(ws).expires_after(3s);
    beast::get_lowest_layer(ws).async_connect(ep, [&](boost::system::error_code e) {
      ec = e;
      done = true;
    });
    if (wait()) {
      done = false;
      beast::get_lowest_layer(ws).expires_after(3s);
      ws.async_handshake("127.0.0.1:" + std::to_string(port_), "/jsonrpc",
                         [&](boost::system::error_code e) {
                           ec = e;
                           done = true;
                         });
    }
    if (wait()) {
      beast::get_lowest_layer(ws).expires_never();
      ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      connected_ = true;
      if (on_connect_) on_connect_();
      while (!stop_) {
        done = false;
        ws.async_read(buffer, [&](boost::system::error_code e, std::size_t) {
          ec = e;
          done = true;
        });
        if (!wait()) break;
        auto msg = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
        buffer.consume(buffer.size());
        if (!msg.is_object() || !msg.contains("method") || !msg["method"].is_string()) continue;
        const auto& params = msg.value("params", nlohmann::json::array());
        if (!params.is_array() || params.empty() || !params[0].is_object()) continue;
        std::string gid = params[0].value("gid", "");
        if (gid.empty()) continue;
        try {
          on_event_(msg["method"].get<std::string>(), gid);
        } catch (const std::exception& e) {
          log::warn("aria2 notification {} for {}: {}", msg["method"].get<std::string>(), gid,
                    e.what());
        }
      }
      connected_ = false;
    }
    for (int i = 0; i < 5 && !stop_; ++i) std::this_thread::sleep_for(100ms);
  }
}

}  // namespace moccha::aria2
