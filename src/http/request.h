// What a route handler sees and returns: plain structs, no Beast. Handlers live in src/api/
// and are registered with the Router; the server (the only Beast code) fills ApiRequest after
// auth, rate limiting, routing and body limits, and writes ApiResponse back.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace moccha::http {

struct ApiRequest {
  std::string method;  // "GET", "POST", ... (HEAD arrives as GET with head_only set)
  bool head_only = false;
  std::string path;                            // decoded path, no query
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> params;   // path parameters, e.g. {name} -> value
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json json;  // the parsed body, for routes that take JSON (null when empty)
  std::string body;     // the raw body
  std::string client;   // peer address
  std::string request_id;
  bool via_session = false;  // authenticated by the dashboard's cookie, not by a key
  std::string session_csrf;  // then: its CSRF token, for a check a handler makes itself

  // The query parameter or `fallback`.
  std::string query_or(const std::string& key, std::string fallback = {}) const;
};

// A body produced piece by piece (Server-Sent Events, large files): the server asks for the
// next piece after writing the previous one, and sends the pieces with chunked encoding.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Calls `deliver` exactly once, from any thread: with the next piece, or with nullopt at the
  // end. The server destroys the stream when the client goes away.
  virtual void next(std::function<void(std::optional<std::string>)> deliver) = 0;
};

// A byte range of an open file, sent with sendfile(2): no copy through user space. Owns `fd`.
struct FileRange {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  FileRange(int fd, std::uint64_t offset, std::uint64_t length)
      : fd(fd), offset(offset), length(length) {}
  ~FileRange();
  FileRange(const FileRange&) = delete;
  FileRange& operator=(const FileRange&) = delete;
};

struct ApiResponse {
  int status = 200;
  nlohmann::json json;  // serialised as the body unless `body` is set
  std::optional<std::string> body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<BodyStream> stream;          // when set, the body comes from here
  std::optional<std::uint64_t> stream_length;  // known length: Content-Length, not chunked
  std::shared_ptr<FileRange> file;             // when set, the body is this file range

  static ApiResponse ok(nlohmann::json body) { return ApiResponse{200, std::move(body)}; }
  // The error envelope of the API conventions: {"success": false, "error", "message"?}.
  static ApiResponse error(int status, std::string error, std::string message = {});
};

// Thrown by handlers (and the helpers below) for expected failures; the server turns it into
// ApiResponse::error. Anything else thrown is a 500 and is logged.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string error, std::string message = {})
      : std::runtime_error(error), status(status), message(std::move(message)) {}
  int status;
  std::string message;
};

// Completes one request. Move-only; call it exactly once, from any thread. If it is destroyed
// without being called, the client gets a 500 rather than a hung connection.
class Responder {
 public:
  using Fn = std::function<void(ApiResponse)>;
  Responder() = default;
  explicit Responder(Fn fn);
  Responder(Responder&&) noexcept;
  Responder& operator=(Responder&&) noexcept;
  ~Responder();
  void operator()(ApiResponse response);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

using Handler = std::function<void(ApiRequest&, Responder)>;

// The server's side of an accepted WebSocket (a route with `open_socket`). It stays open while
// somebody holds it or a read is pending. Any method may be called from any thread; callbacks
// run on the I/O thread.
class WebSocket {
 public:
  struct Message {
    std::string data;
    bool binary = false;
  };
  virtual ~WebSocket() = default;
  // Reads the next message; `done` gets nullopt once the socket is closed (by either side, or
  // for a message over the route's limit). One read at a time.
  virtual void read(std::function<void(std::optional<Message>)> done) = 0;
  // Queues a message; they go out in order. A peer that lets more than the send limit pile up
  // is closed (1008) rather than held in memory.
  virtual void send(std::string data, bool binary) = 0;
  // Ends the socket with a close frame: 1000 normal, 1001 going away, 1003 unsupported data,
  // 1008 policy violation. What is queued goes out first.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};
using SocketHandler = std::function<void(std::shared_ptr<WebSocket>)>;

// Receives a request body as it arrives (uploads), on the I/O thread, for routes with
// BodyKind::stream. write() and finish() throw ApiError to refuse; abort() is called instead of
// finish() when the body does not arrive whole, and must leave nothing half-written behind.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(const char* data, std::size_t size) = 0;
  virtual ApiResponse finish() = 0;
  virtual void abort() = 0;
};

// Wraps a handler that answers at once.
template <class F>
Handler sync(F f) {
  return [f = std::move(f)](ApiRequest& req, Responder respond) { respond(f(req)); };
}

// Field access for JSON bodies that fails with a 400 naming the field.
const nlohmann::json& require_field(const nlohmann::json& body, const char* name);
std::string require_string(const nlohmann::json& body, const char* name);
std::optional<std::string> optional_string(const nlohmann::json& body, const char* name);
std::optional<double> optional_number(const nlohmann::json& body, const char* name);
std::optional<bool> optional_bool(const nlohmann::json& body, const char* name);

// An integer query parameter in [lo, hi], if given (absent or empty: nullopt); anything else
// is a 400 naming the parameter and the range.
std::optional<long long> optional_int_query(const ApiRequest& req, const char* name, long long lo,
                                            long long hi);

}  // namespace moccha::http
