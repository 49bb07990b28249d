#include "services/jdownloader/api_client.h"

#include "core/http_client.h"

namespace moccha::jd {

using json = nlohmann::json;

std::string encode_request(const std::string& path, const json& params, long long rid) {
  json envelope = {{"apiVer", 1},
                   {"url", path},
                   {"params", params.is_array() ? params : json::array()},
                   {"rid", rid}};
  return envelope.dump(-1, ' ', false, json::error_handler_t::replace);
}

json decode_reply(long status, const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (status != 200) {
    std::string type = doc.is_object() ? doc.value("type", "") : "";
    if (type.empty())
      throw ApiError(
          ApiError::Kind::protocol,
          "JDownloader answered HTTP " + std::to_string(status) + " without an error type");
    std::string message = type;
    if (doc.contains("data") && doc["data"].is_string())
      message += ": " + doc["data"].get<std::string>();
    throw ApiError(ApiError::Kind::refused, message, type);
  }
  if (!doc.is_object() || !doc.contains("data"))
    throw ApiError(ApiError::Kind::protocol, "JDownloader's answer is not its envelope");
  return doc["data"];
}

ApiClient::ApiClient(std::string host, int port, std::chrono::milliseconds timeout)
    : base_("http://" + host + ":" + std::to_string(port)), timeout_(timeout) {}

json ApiClient::call(const std::string& method, const json& params) const {
  std::string path = "/" + method;
  HttpReply r = http_post(base_ + path, {}, encode_request(path, params, rid_++),
                          {.connect_timeout = timeout_, .timeout = timeout_},
                          "application/json; charset=utf-8");
  if (!r.reached()) throw ApiError(ApiError::Kind::unreachable, "JDownloader: " + r.error);
  return decode_reply(r.status, r.body);
}

}  // namespace moccha::jd
