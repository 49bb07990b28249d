// aria2's JSON-RPC over HTTP (POST http://127.0.0.1:PORT/jsonrpc), with the secret as the
// first parameter of every call ("token:SECRET"). aria2 answers its own refusals with HTTP 400
// and {"error": {"code": 1, "message"}}: the message is what tells them apart. Thread-safe
// (each call is its own request); every call bounded by the timeout.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace moccha::aria2 {

class RpcError : public std::runtime_error {
 public:
  // unreachable: no answer (not running, timeout); refused: aria2 said no (its message);
  // protocol: an answer we cannot read.
  enum class Kind { unreachable, refused, protocol };
  RpcError(Kind kind, std::string message) : std::runtime_error(std::move(message)), kind(kind) {}
  Kind kind;
};

class RpcClient {
 public:
  RpcClient(int port, std::string secret,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The `result` of `method` (aria2.* methods get the token prepended). Throws RpcError.
  nlohmann::json call(const std::string& method,
                      nlohmann::json params = nlohmann::json::array()) const;
  // Several calls in one request (a JSON-RPC batch), their reply left as text, to be read in
  // place (a thousand downloads' status is not worth a tree). Throws RpcError(unreachable).
  std::string batch_body(const std::vector<std::pair<std::string, nlohmann::json>>& calls) const;

 private:
  nlohmann::json request(const std::string& method, nlohmann::json params, int id) const;
  std::string post(const nlohmann::json& body) const;
  int port_;
  std::string secret_;
  std::chrono::milliseconds timeout_;
};

}  // namespace moccha::aria2
