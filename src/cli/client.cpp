#include "cli/client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>

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

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
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
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
  (void)initialised;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw ClientError("cannot initialise libcurl");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  for (const std::string& h :
       {std::string("X-API-Key: ") + ep.api_key, std::string("Accept: application/json")})
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  for (const std::string& h : extra_headers)
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  std::string url = ep.url + path, response;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_ACCEPT_ENCODING, "");  // gzip, decoded by libcurl
  prepare(curl.get());
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK)
    throw ClientError("cannot reach the agent at " + ep.url + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  return reply_json(status, response);
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
      std::size_t pos = 0;
      while (pos <= block.size()) {
        std::size_t nl = block.find('\n', pos);
        if (nl == std::string::npos) nl = block.size();
        std::string line = block.substr(pos, nl - pos);
        if (line.starts_with("event: "))
          name = line.substr(7);
        else if (line.starts_with("data: "))
          payload += (payload.empty() ? "" : "\n") + line.substr(6);
        pos = nl + 1;
      }
      (*on_event)(name, payload);
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
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw ClientError("cannot initialise libcurl");
  std::string url = ep_.url + path;
  std::string key_header = "X-API-Key: " + ep_.api_key;
  curl_slist* headers = curl_slist_append(nullptr, key_header.c_str());
  headers = curl_slist_append(headers, "Accept: text/event-stream");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                          curl_slist_free_all);
  long status = 0;
  SseParser parser{&on_event, {}, &status, {}};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, sse_write);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &parser);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
  CURLcode rc = curl_easy_perform(curl.get());
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_HTTP_RETURNED_ERROR)
    throw ClientError("HTTP " + std::to_string(status) + " for " + path, status);
  if (rc != CURLE_OK)
    throw ClientError("cannot reach the agent at " + ep_.url + ": " + curl_easy_strerror(rc));
}

}  // namespace moccha::cli
