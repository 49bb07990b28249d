// JDownloader's local API (its "Deprecated API", plain HTTP on 127.0.0.1:3128, enabled by
// `deprecatedapienabled` in cfg/org.jdownloader.api.RemoteAPIConfig.json): a call is
// POST /<namespace>/<method> with the envelope {"apiVer": 1, "url": "/<namespace>/<method>",
// "params": [positional], "rid": N}; the answer is {"data": ..., "rid": N}, an error a non-200
// with {"type": "BAD_PARAMETERS" | "API_COMMAND_NOT_FOUND" | ..., "src", "data"}. A request
// with an Origin header is refused by JD ("Bad Origin"), so none is ever sent. Written up in
// doc/protocols/jdownloader.md.
#pragma once

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace moccha::jd {

class ApiError : public std::runtime_error {
 public:
  // unreachable: no answer; refused: JD answered with an error `type`; protocol: an answer
  // that is not the envelope.
  enum class Kind { unreachable, refused, protocol };
  ApiError(Kind kind, std::string message, std::string type = {})
      : std::runtime_error(std::move(message)), kind(kind), type(std::move(type)) {}
  Kind kind;
  std::string type;  // JD's error type, for refused
};

// The envelope, pure (the fuzzer drives these).
std::string encode_request(const std::string& path, const nlohmann::json& params, long long rid);
// The `data` of a reply with `status` and `body`. Throws ApiError(refused | protocol).
nlohmann::json decode_reply(long status, const std::string& body);

class ApiClient {
 public:
  ApiClient(std::string host, int port, std::chrono::milliseconds timeout);
  // Calls "namespace/method" with positional `params`. Throws ApiError.
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::array()) const;

 private:
  std::string base_;
  std::chrono::milliseconds timeout_;
  mutable std::atomic<long long> rid_{1};
};

}  // namespace moccha::jd
