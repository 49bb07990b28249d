#include "services/deluge/rpc_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "services/deluge/rencode.h"

namespace moccha::deluge {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned char kProtocolVersion = 1;

[[noreturn]] void transport(const std::string& what) {
  throw RpcError(RpcError::Kind::transport, what);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string encode_message(const json& data) {
  std::string body = rencode(data);
  uLongf bound = compressBound(static_cast<uLong>(body.size()));
  std::string compressed(bound, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &bound,
                reinterpret_cast<const Bytef*>(body.data()), static_cast<uLong>(body.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw RpcError(RpcError::Kind::protocol, "zlib compress failed");
  compressed.resize(bound);
  std::string out;
  out += static_cast<char>(kProtocolVersion);
  std::uint32_t n = htonl(static_cast<std::uint32_t>(compressed.size()));
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += compressed;
  return out;
}

std::string inflate_body(const std::string& compressed, std::size_t max_bytes) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) throw RpcError(RpcError::Kind::protocol, "zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw RpcError(RpcError::Kind::protocol, "malformed zlib data from the daemon");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      throw RpcError(RpcError::Kind::protocol, "message from the daemon too large");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw RpcError(RpcError::Kind::protocol, "truncated zlib data from the daemon");
    }
  }
  inflateEnd(&zs);
  return out;
}

json decode_body(const std::string& compressed, std::size_t max_bytes) {
  std::string body = inflate_body(compressed, max_bytes);
  try {
    return rdecode(body);
  } catch (const RencodeError& e) {
    throw RpcError(RpcError::Kind::protocol, e.what());
  }
}

RpcClient::RpcClient(RpcConfig config) : cfg_(std::move(config)) {}

RpcClient::~RpcClient() {
  close();
}

bool RpcClient::connected() const {
  std::lock_guard lock(mu_);
  return ssl_ != nullptr;
}

void RpcClient::close() {
  std::lock_guard lock(mu_);
  close_locked();
}

void RpcClient::close_locked() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (ctx_) {
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RpcClient::connect() {
  std::lock_guard lock(mu_);
  connect_locked();
}

void RpcClient::connect_locked() {
  close_locked();
  auto deadline = Clock::now() + cfg_.connect_timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(cfg_.port);
  if (int rc = ::getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw RpcError(RpcError::Kind::unreachable,
                   "cannot resolve " + cfg_.host + ": " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, remaining_ms(deadline)) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = err ? std::strerror(err) : "timed out";
      ::close(fd);
      continue;
    }
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    throw RpcError(RpcError::Kind::unreachable,
                   "cannot connect to deluged at " + cfg_.host + ":" + port + ": " + last);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  ctx_ = SSL_CTX_new(TLS_client_method());
  // deluged presents a self-signed certificate made on its first start: nothing to verify
  // it against. The daemon is ours (loopback) or configured by the user.
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  while (true) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) break;
    int e = SSL_get_error(ssl_, rc);
    short want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    pollfd p{fd_, want, 0};
    if (!want || ::poll(&p, 1, remaining_ms(deadline)) != 1) {
      close_locked();
      transport("TLS handshake with deluged failed");
    }
  }
  try {
    call_locked("daemon.login", json::array({cfg_.username, cfg_.password}),
                {{"client_version", "2.0.3"}});
  } catch (...) {
    close_locked();
    throw;
  }
}

void RpcClient::write_all(const std::string& data) {
  auto deadline = Clock::now() + cfg_.call_timeout;
  std::size_t done = 0;
  while (done < data.size()) {
    int n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    int e = SSL_get_error(ssl_, n);
    short want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    pollfd p{fd_, want, 0};
    if (!want) transport("connection to deluged lost");
    if (::poll(&p, 1, remaining_ms(deadline)) != 1)
      throw RpcError(RpcError::Kind::timeout, "timed out writing to deluged");
  }
}

void RpcClient::read_exact(char* out, std::size_t n, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < n) {
    int got = SSL_read(ssl_, out + done, static_cast<int>(n - done));
    if (got > 0) {
      done += static_cast<std::size_t>(got);
      continue;
    }
    int e = SSL_get_error(ssl_, got);
    short want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (!want) transport("connection to deluged lost");
    pollfd p{fd_, want, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1)
      throw RpcError(RpcError::Kind::timeout, "deluged did not answer in time");
  }
}

std::string RpcClient::read_message(Clock::time_point deadline) {
  char header[5];
  read_exact(header, 5, deadline);
  if (static_cast<unsigned char>(header[0]) != kProtocolVersion)
    throw RpcError(RpcError::Kind::protocol, "unknown protocol version from deluged");
  std::uint32_t n;
  std::memcpy(&n, header + 1, 4);
  n = ntohl(n);
  if (n > cfg_.max_message_bytes)
    throw RpcError(RpcError::Kind::protocol, "message from deluged too large");
  std::string body(n, '\0');
  read_exact(body.data(), n, deadline);
  return inflate_body(body, cfg_.max_message_bytes);
}

json RpcClient::call(const std::string& method, json args, json kwargs) {
  RawReply reply = call_raw(method, std::move(args), std::move(kwargs));
  try {
    return rdecode(reply.result());
  } catch (const RencodeError& e) {
    throw RpcError(RpcError::Kind::protocol, e.what());
  }
}

RawReply RpcClient::call_raw(const std::string& method, json args, json kwargs) {
  std::lock_guard lock(mu_);
  if (!ssl_) connect_locked();
  try {
    return call_locked(method, args, kwargs);
  } catch (const RpcError& e) {
    if (e.kind != RpcError::Kind::transport) throw;
    connect_locked();  // the daemon restarted or dropped us: once more, on a new connection
    return call_locked(method, args, kwargs);
  }
}

namespace {

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>()
                       : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// [2, id, [exception_type, exception_msg, traceback]] (2.0) or its fields flattened.
[[noreturn]] void throw_remote(const json& msg) {
  const json& err = msg[2];
  std::string etype, emsg;
  if (err.is_array() && err.size() >= 2) {
    etype = text_of(err[0]);
    emsg = text_of(err[1]);
  } else {
    etype = text_of(err);
    if (msg.size() > 3) emsg = text_of(msg[3]);
  }
  throw RpcError(RpcError::Kind::remote, etype + ": " + emsg, etype);
}

}  // namespace

RawReply RpcClient::call_locked(const std::string& method, const json& args, const json& kwargs) {
  long long id = next_id_++;
  try {
    write_all(encode_message(json::array({json::array({id, method, args, kwargs})})));
    auto deadline = Clock::now() + cfg_.call_timeout;
    while (true) {
      RawReply reply{read_message(deadline)};
      // The envelope is read in place: a reply (type 1) is [1, id, result]; anything else
      // is small and decoded whole.
      std::int64_t type = 0, reply_id = -1;
      try {
        RencodeReader r(reply.body);
        r.enter();
        if (r.more() && r.type() == RencodeReader::Type::integer) type = r.integer();
        if (type == 1 && r.more() && r.type() == RencodeReader::Type::integer)
          reply_id = r.integer();
        if (type == 1 && reply_id == id && r.more()) {
          reply.offset = r.offset();
          r.skip();
          reply.size = r.offset() - reply.offset;
          r.leave();
          if (!r.at_end()) throw RencodeError("rencode: trailing bytes");
          return reply;
        }
      } catch (const RencodeError& e) {
        throw RpcError(RpcError::Kind::protocol, e.what());
      }
      if (type == 1) {
        if (reply_id != id) continue;  // a late reply to an earlier call
        throw RpcError(RpcError::Kind::protocol, "a reply from deluged without a result");
      }
      json msg;
      try {
        msg = rdecode(reply.body);
      } catch (const RencodeError& e) {
        throw RpcError(RpcError::Kind::protocol, e.what());
      }
      if (!msg.is_array() || msg.empty() || !msg[0].is_number_integer())
        throw RpcError(RpcError::Kind::protocol, "unexpected message from deluged");
      if (type == 3) {  // event: [3, name, args]
        if (events_.size() < 10000 && msg.size() >= 2)
          events_.push_back(json::array({msg[1], msg.size() > 2 ? msg[2] : json()}));
        continue;
      }
      if (msg.size() < 3 || msg[1] != id) continue;
      if (type == 2) throw_remote(msg);
      throw RpcError(RpcError::Kind::protocol, "unknown message type from deluged");
    }
  } catch (const RpcError& e) {
    if (e.kind == RpcError::Kind::transport || e.kind == RpcError::Kind::protocol ||
        e.kind == RpcError::Kind::timeout)
      close_locked();
    throw;
  }
}

std::optional<json> RpcClient::wait_event(std::chrono::milliseconds wait) {
  std::lock_guard lock(mu_);
  if (!events_.empty()) {
    json e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  if (!ssl_) connect_locked();
  // Only start reading a message once its first byte is there: a read cut off by a timeout
  // would leave the stream out of step.
  if (SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(wait.count()));
    if (rc == 0) return std::nullopt;
    if (rc < 0) return std::nullopt;
  }
  try {
    json msg = rdecode(read_message(Clock::now() + cfg_.call_timeout));
    if (msg.is_array() && msg.size() >= 2 && msg[0] == 3)
      return json::array({msg[1], msg.size() > 2 ? msg[2] : json()});
    return std::nullopt;  // a stray reply: nothing waits for it
  } catch (const RencodeError& e) {
    close_locked();
    throw RpcError(RpcError::Kind::protocol, e.what());
  } catch (const RpcError&) {
    close_locked();
    throw;
  }
}

std::deque<json> RpcClient::take_events() {
  std::lock_guard lock(mu_);
  return std::exchange(events_, {});
}

}  // namespace moccha::deluge
