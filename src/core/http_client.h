// The one outgoing HTTP client (libcurl): the CLI's calls to the agent, webhooks, and the
// engines' JSON-RPC over HTTP all go through http_perform. Blocking, every wait bounded.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moccha {

struct HttpReply {
  long status = 0;  // 0: no reply (see error); set also when a prepare's option failed it
  std::string body;
  std::string error;  // why there was no reply: libcurl's message
  std::vector<std::pair<std::string, std::string>> headers;  // the reply's, names lower-cased
  bool reached() const { return error.empty(); }
  // The first header of that (lower-case) name, or "".
  std::string header(std::string_view name) const;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds timeout{0};  // whole transfer; 0: none (streams)
  bool decode_gzip = false;              // send Accept-Encoding and decode the reply
};

// A connection kept alive across a run of requests (a transfer's chunks, to one host): the
// requests below on one libcurl handle, reset between them but keeping its connections. One
// thread at a time.
class HttpConnection {
 public:
  HttpConnection();
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // GET `url` with `headers` ("Name: value"); `prepare` (may be null) gets the CURL handle (a
  // void*) to set the method and body, or a write callback of its own. The body is collected
  // unless `prepare` set CURLOPT_WRITEFUNCTION.
  HttpReply perform(const std::string& url, const std::vector<std::string>& headers,
                    const std::function<void(void* curl)>& prepare, HttpOptions options = {});
  // POST `body` as `content_type`.
  HttpReply post(const std::string& url, const std::vector<std::string>& headers,
                 const std::string& body, HttpOptions options = {},
                 const std::string& content_type = "application/json");

 private:
  void* curl_;
};

// The same, each on a connection of its own.
HttpReply http_perform(const std::string& url, const std::vector<std::string>& headers,
                       const std::function<void(void* curl)>& prepare, HttpOptions options = {});
HttpReply http_post(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, HttpOptions options = {},
                    const std::string& content_type = "application/json");

}  // namespace moccha
