// The HTTP client behind every CLI subcommand but `serve`.
//
// Where the agent is and which key to use, first found wins: --url/--api-key flags,
// MOCCHA_URL/MOCCHA_API_KEY, ~/.moccha/client.json ({"url": ..., "api_key": ...}), and last
// http://127.0.0.1:5000 with the key a local agent stored in ~/.moccha/api_key.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace moccha::cli {

struct Endpoint {
  std::string url;
  std::string api_key;
};

Endpoint resolve_endpoint(const std::string& url_flag, const std::string& key_flag);

// The agent could not be reached, or answered with an error status. what() is the message
// for the user.
class ClientError : public std::runtime_error {
 public:
  ClientError(std::string message, long status = 0)
      : std::runtime_error(std::move(message)), status(status) {}
  long status;  // 0 when the agent was not reached
};

// The ClientError for a reply with a non-2xx `status`: its JSON error and message when it has
// them, and a hint for a wrong key.
[[noreturn]] void throw_reply_error(long status, const std::string& body);

class Client {
 public:
  explicit Client(Endpoint endpoint) : ep_(std::move(endpoint)) {}

  // Sends the request and returns the JSON body of a 2xx reply. Throws ClientError otherwise.
  nlohmann::json call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr) const;

  // POSTs multipart/form-data: `fields` as text parts, then the local file `file` (streamed
  // from disk) in a part named `file_field`. Returns the JSON of a 2xx reply, like call().
  nlohmann::json post_file(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::string& file_field, const std::string& file) const;

  // GETs a Server-Sent Events stream and calls `on_event(name, data)` for each event until the
  // stream ends. Throws ClientError like call().
  void events(const std::string& path,
              const std::function<void(const std::string&, const std::string&)>& on_event) const;

  // GETs `path` and writes the body of a 2xx reply to `out` as it comes, from byte `from` on
  // (a Range request). Throws ClientError like call().
  void copy_to(const std::string& path, std::FILE* out, std::uint64_t from = 0) const;

  const Endpoint& endpoint() const { return ep_; }

 private:
  Endpoint ep_;
};

}  // namespace moccha::cli
