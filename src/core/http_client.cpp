#include "core/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>

namespace moccha {

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<HttpReply*>(out)->headers.emplace_back(std::move(name), value);
  }
  return size * n;
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

HttpConnection::HttpConnection() {
  static const bool initialised = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == 0; }();
  (void)initialised;
  curl_ = curl_easy_init();
}

HttpConnection::~HttpConnection() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpReply HttpConnection::perform(const std::string& url, const std::vector<std::string>& headers,
                                  const std::function<void(void*)>& prepare, HttpOptions options) {
  HttpReply reply;
  if (!curl_) {
    reply.error = "cannot initialise libcurl";
    return reply;
  }
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> list(nullptr, curl_slist_free_all);
  for (const std::string& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
  CURL* h = static_cast<CURL*>(curl_);
  curl_easy_reset(h);  // the last request's options go; its connection stays
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  if (options.timeout.count() > 0)
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (options.decode_gzip) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (prepare) prepare(h);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  if (rc != CURLE_OK) reply.error = curl_easy_strerror(rc);
  return reply;
}

HttpReply HttpConnection::post(const std::string& url, const std::vector<std::string>& headers,
                               const std::string& body, HttpOptions options,
                               const std::string& content_type) {
  std::vector<std::string> all = headers;
  all.push_back("Content-Type: " + content_type);
  return perform(
      url, all,
      [&body](void* h) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
      },
      options);
}

HttpReply http_perform(const std::string& url, const std::vector<std::string>& headers,
                       const std::function<void(void*)>& prepare, HttpOptions options) {
  return HttpConnection().perform(url, headers, prepare, options);
}

HttpReply http_post(const std::string& url, const std::vector<std::string>& headers,
                    const std::string& body, HttpOptions options, const std::string& content_type) {
  return HttpConnection().post(url, headers, body, options, content_type);
}

}  // namespace moccha
