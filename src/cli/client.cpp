#include "cli/client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>

#include "core/http_client.h"

namespace moccha::cli {
namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

std::string home_dir() {
  return env_or("HOME", "/root");
}

std::string read_trimmed(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The JSON of a 2xx reply; a ClientError for anything else.
nlohmann::json reply_json(long status, const std::string& body) {
  if (status < 200 || status >= 300) throw_reply_error(status, body);
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) throw ClientError("the agent sent a reply that is not JSON", status);
  return doc;
}

}  // namespace

Endpoint resolve_endpoint(const std::string& url_flag, const std::string& key_flag) {
  Endpoint ep{url_flag, key_flag};
  if (ep.url.empty()) ep.url = env_or("MOCCHA_URL", "");
  if (ep.api_key.empty()) ep.api_key = env_or("MOCCHA_API_KEY", "");
  std::string data_dir = env_or("MOCCHA_DATA_DIR", env_or("MOCCHA_HOME", home_dir() + "/.moccha"));
  if (ep.url.empty() || ep.api_key.empty()) {
    std::ifstream in(data_dir + "/client.json");
    if (in) {
      auto doc = nlohmann::json::parse(in, nullptr, false);
      if (doc.is_object()) {
        if (ep.url.empty() && doc.value("url", "") != "") ep.url = doc["url"];
        if (ep.api_key.empty() && doc.value("api_key", "") != "") ep.api_key = doc["api_key"];
      }
    }
  }
  if (ep.url.empty()) ep.url = "http://127.0.0.1:5000";
  if (ep.api_key.empty()) ep.api_key = read_trimmed(data_dir + "/api_key");
  while (!ep.url.empty() && ep.url.back() == '/') ep.url.pop_back();
  return ep;
}

namespace {

// One request to the agent with the key, answered in JSON: `prepare` sets the method and body.
nlohmann::json exchange(const Endpoint& ep, const std::string& path,
                        const std::vector<std::string>& extra_headers,
                        const std::function<void(CURL*)>& prepare) {
  std::vector<std::string> headers = {"X-API-Key: " + ep.api_key, "Accept: application/json"};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  HttpReply r = http_perform(ep.url + path, headers, prepare, {.decode_gzip = true});
  if (!r.reached()) throw ClientError("cannot reach the agent at " + ep.url + ": " + r.error);
  return reply_json(r.status, r.body);
}

}  // namespace

nlohmann::json Client::call(const std::string& method, const std::string& path,
                            const nlohmann::json& body) const {
  std::string payload = body.is_null() ? std::string() : body.dump();
  std::vector<std::string> extra;
  if (!body.is_null()) extra.push_back("Content-Type: application/json");
  return exchange(ep_, path, extra, [&](CURL* h) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.is_null() || method == "POST") {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    }
  });
}

nlohmann::json Client::post_file(const std::string& path,
                                 const std::vector<std::pair<std::string, std::string>>& fields,
                                 const std::string& file_field, const std::string& file) const {
  std::unique_ptr<curl_mime, decltype(&curl_mime_free)> mime(nullptr, curl_mime_free);
  return exchange(ep_, path, {}, [&](CURL* h) {
    mime.reset(curl_mime_init(h));
    for (const auto& [name, value] : fields) {
      curl_mimepart* part = curl_mime_addpart(mime.get());
      curl_mime_name(part, name.c_str());
      curl_mime_data(part, value.data(), value.size());
    }
    curl_mimepart* part = curl_mime_addpart(mime.get());
    curl_mime_name(part, file_field.c_str());
    if (curl_mime_filedata(part, file.c_str()) != CURLE_OK)
      throw ClientError("cannot read " + file);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime.get());
  });
}

void throw_reply_error(long status, const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  std::string message = "HTTP " + std::to_string(status);
  if (doc.is_object() && doc.contains("error")) {
    message += ": " + doc["error"].get<std::string>();
    if (doc.contains("message")) message += " (" + doc["message"].get<std::string>() + ")";
  }
  if (status == 401) message += ". Check --api-key, MOCCHA_API_KEY or ~/.moccha/client.json";
  throw ClientError(message, status);
}

namespace {

struct SseParser {
  const std::function<void(const std::string&, const std::string&)>* on_event;
  std::string buffer;
  long* status;
  std::string error_body;

  void feed(const char* data, std::size_t n) {
    buffer.append(data, n);
    std::size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      std::string block = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      std::string name = "message", payload;
      bool has_data = false;  // comments (heartbeats) and retry: lines are no event
      std::size_t pos = 0;
      while (pos <= block.size()) {
        std::size_t nl = block.find('\n', pos);
        if (nl == std::string::npos) nl = block.size();
        std::string line = block.substr(pos, nl - pos);
        if (line.starts_with("event: "))
          name = line.substr(7);
        else if (line.starts_with("data: ")) {
          payload += (has_data ? "\n" : "") + line.substr(6);
          has_data = true;
        }
        pos = nl + 1;
      }
      if (has_data) (*on_event)(name, payload);
    }
  }
};

size_t sse_write(char* data, size_t size, size_t n, void* p) {
  auto* parser = static_cast<SseParser*>(p);
  parser->feed(data, size * n);
  return size * n;
}

}  // namespace

void Client::events(
    const std::string& path,
    const std::function<void(const std::string&, const std::string&)>& on_event) const {
  long status = 0;
  SseParser parser{&on_event, {}, &status, {}};
  HttpReply r =
      http_perform(ep_.url + path, {"X-API-Key: " + ep_.api_key, "Accept: text/event-stream"},
                   [&parser](void* h) {
                     curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_write);
                     curl_easy_setopt(h, CURLOPT_WRITEDATA, &parser);
                     curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
                   });
  if (r.reached()) return;
  if (r.status >= 400)
    throw ClientError("HTTP " + std::to_string(r.status) + " for " + path, r.status);
  throw ClientError("cannot reach the agent at " + ep_.url + ": " + r.error);
}

void Client::copy_to(const std::string& path, std::FILE* out, std::uint64_t from) const {
  struct Sink {
    std::FILE* out;
    CURL* h = nullptr;
    long status = 0;
    std::string error_body;
  } sink{out};
  std::vector<std::string> headers = {"X-API-Key: " + ep_.api_key};
  if (from) headers.push_back("Range: bytes=" + std::to_string(from) + "-");
  HttpReply r = http_perform(ep_.url + path, headers, [&sink](void* h) {
    sink.h = static_cast<CURL*>(h);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(
        h, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) -> size_t {
          auto* k = static_cast<Sink*>(p);
          if (!k->status) curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &k->status);
          if (k->status / 100 != 2) {
            k->error_body.append(d, s * n);
            return s * n;
          }
          return std::fwrite(d, s, n, k->out) * s;
        });
  });
  if (r.status / 100 != 2 && r.status != 0) throw_reply_error(r.status, sink.error_body);
  if (!r.reached()) throw ClientError("cannot read " + path + " from " + ep_.url + ": " + r.error);
}

}  // namespace moccha::cli
