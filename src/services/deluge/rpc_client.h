// A client of Deluge's daemon RPC (deluged 2.x): TLS to the daemon port; each message a
// 5-byte header (version 1, big-endian body length) and a zlib-compressed rencoded body.
// Requests are [[id, method, args, kwargs]]; replies [1, id, result] or [2, id, error...];
// events [3, name, args]. Wire notes: doc/protocols/deluge-rpc.md.
//
// Blocking, with every wait bounded by the timeouts in RpcConfig. Thread-safe: calls are
// serialised by a mutex (one request in flight, as Deluge's own client mostly does).
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace moccha::deluge {

struct RpcConfig {
  std::string host = "127.0.0.1";
  int port = 58846;
  std::string username;
  std::string password;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds call_timeout{30000};
  std::size_t max_message_bytes = 64u << 20;  // decompressed
};

class RpcError : public std::runtime_error {
 public:
  // unreachable: nothing accepted the TCP connection (refused, no route, timed out);
  // transport: the connection failed after that (TLS, a drop).
  enum class Kind { unreachable, transport, remote, timeout, protocol };
  RpcError(Kind kind, std::string message, std::string remote_type = {})
      : std::runtime_error(std::move(message)), kind(kind), remote_type(std::move(remote_type)) {}
  Kind kind;
  std::string remote_type;  // the daemon's exception class, for Kind::remote
};

// Frames (pure, for tests and fuzzing): one message's bytes, and the reverse.
std::string encode_message(const nlohmann::json& data);
// Decodes a whole message body (after the 5-byte header). Throws RpcError(protocol).
nlohmann::json decode_body(const std::string& compressed, std::size_t max_bytes);
// Its rencoded bytes, decompressed. Throws RpcError(protocol).
std::string inflate_body(const std::string& compressed, std::size_t max_bytes);

// A reply as it came, decompressed, and where its result lies in it: a large result can be
// read in place with a RencodeReader instead of being built as a tree.
struct RawReply {
  std::string body;
  std::size_t offset = 0, size = 0;
  std::string_view result() const { return std::string_view(body).substr(offset, size); }
};

class RpcClient {
 public:
  explicit RpcClient(RpcConfig config);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Connects, handshakes TLS and logs in. Throws RpcError.
  void connect();
  bool connected() const;
  void close();

  // Calls `method`; reconnects once if the connection had dropped. Throws RpcError.
  nlohmann::json call(const std::string& method, nlohmann::json args = nlohmann::json::array(),
                      nlohmann::json kwargs = nlohmann::json::object());

  // The same, with the result left rencoded.
  RawReply call_raw(const std::string& method, nlohmann::json args = nlohmann::json::array(),
                    nlohmann::json kwargs = nlohmann::json::object());

  // Waits up to `wait` for the next event ([name, args]) on this connection (after
  // daemon.set_event_interest). nullopt when none came. Throws RpcError.
  std::optional<nlohmann::json> wait_event(std::chrono::milliseconds wait);

  // Events the daemon pushed ([name, args]) since the last call.
  std::deque<nlohmann::json> take_events();

 private:
  RawReply call_locked(const std::string& method, const nlohmann::json& args,
                       const nlohmann::json& kwargs);
  void connect_locked();
  void close_locked();
  void write_all(const std::string& data);
  std::string read_message(std::chrono::steady_clock::time_point deadline);
  void read_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point deadline);

  RpcConfig cfg_;
  mutable std::mutex mu_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  long long next_id_ = 1;
  std::deque<nlohmann::json> events_;
};

}  // namespace moccha::deluge
