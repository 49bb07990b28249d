#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <optional>

#include "core/ws_client.h"

namespace moccha::cli {

namespace {

namespace asio = boost::asio;
constexpr char kDetach = 0x1d;  // Ctrl-]

struct Size {
  int cols = 80, rows = 24;
};
Size window_size() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
    return {ws.ws_col, ws.ws_row};
  return {};
}

// The local terminal in raw mode while it lives (when stdin is one).
class RawMode {
 public:
  RawMode() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawMode() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

void write_all(const std::string& bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// host and port of an http:// URL.
std::pair<std::string, int> host_port(const std::string& url) {
  if (url.rfind("http://", 0) != 0)
    throw ClientError(
        "moccha term speaks ws:// only: reach the agent by http:// (over an SSH "
        "tunnel, for one behind TLS)");
  std::string rest = url.substr(7);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') return {rest, 80};
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

}  // namespace

int term(const Client& client, const std::string& given_id) {
  auto [host, port] = host_port(client.endpoint().url);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  Size size = window_size();
  std::string id = given_id;
  if (id.empty())
    id = client.call("POST", "/terminals", {{"cols", size.cols}, {"rows", size.rows}})["id"];

  asio::io_context ioc;
  WsClient ws(ioc);
  asio::posix::stream_descriptor in(ioc, ::dup(STDIN_FILENO));
  asio::signal_set winch(ioc, SIGWINCH);
  std::string error, how;
  bool detached = false;
  std::optional<RawMode> raw;
  std::array<char, 4096> buf;

  auto send_size = [&] {
    Size s = window_size();
    ws.send(nlohmann::json{{"type", "resize"}, {"cols", s.cols}, {"rows", s.rows}}.dump(), false);
  };
  std::function<void()> on_winch = [&] {
    winch.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      send_size();
      on_winch();
    });
  };
  std::function<void()> read_keys = [&] {
    in.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
      if (ec) return;  // stdin closed: keep showing output until the terminal ends
      std::string keys(buf.data(), n);
      if (auto at = keys.find(kDetach); at != std::string::npos) {
        if (at > 0) ws.send(keys.substr(0, at), true);
        detached = true;
        return ws.close();
      }
      ws.send(std::move(keys), true);
      read_keys();
    });
  };
  std::function<void()> read_screen = [&] {
    ws.read([&](std::optional<WsClient::Message> m) {
      if (!m) {
        in.cancel();
        winch.cancel();
        return;
      }
      if (m->binary) {
        write_all(m->data);
      } else {
        auto j = nlohmann::json::parse(m->data, nullptr, false);
        if (j.is_object() && j.value("type", "") == "exit") how = j.value("how", "");
      }
      read_screen();
    });
  };
  ws.connect(host, port, "/terminals/" + id + "/ws", {{"X-API-Key", client.endpoint().api_key}},
             std::chrono::seconds(10), [&](std::string e) {
               if (!e.empty()) {
                 error = std::move(e);
                 in.cancel();
                 winch.cancel();
                 return;
               }
               raw.emplace();
               send_size();
               on_winch();
               read_keys();
               read_screen();
             });
  ioc.run();
  raw.reset();
  if (!error.empty()) throw ClientError("terminal " + id + ": " + error);
  if (detached)
    std::cerr << "\r\nmoccha: detached; `moccha term " << id << "` attaches again\n";
  else
    std::cerr << "\r\nmoccha: terminal " << id << " ended" << (how.empty() ? "" : " (" + how + ")")
              << "\n";
  return 0;
}

}  // namespace moccha::cli
