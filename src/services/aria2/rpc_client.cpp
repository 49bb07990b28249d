#include "services/aria2/rpc_client.h"

#include "core/http_client.h"

namespace moccha::aria2 {

using json = nlohmann::json;

namespace {

json result_of(const json& reply) {
  if (!reply.is_object())
    throw RpcError(RpcError::Kind::protocol, "aria2's reply is not an object");
  if (reply.contains("error")) {
    const json& e = reply["error"];
    std::string message = e.is_object() ? e.value("message", "error") : "error";
    throw RpcError(RpcError::Kind::refused, message);
  }
  if (!reply.contains("result"))
    throw RpcError(RpcError::Kind::protocol, "aria2's reply has no result");
  return reply["result"];
}

}  // namespace

RpcClient::RpcClient(int port, std::string secret, std::chrono::milliseconds timeout)
    : port_(port), secret_(std::move(secret)), timeout_(timeout) {}

json RpcClient::request(const std::string& method, json params, int id) const {
  if (method.starts_with("aria2.")) params.insert(params.begin(), "token:" + secret_);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

std::string RpcClient::post(const json& body) const {
  HttpReply r = http_post("http://127.0.0.1:" + std::to_string(port_) + "/jsonrpc", {}, body.dump(),
                          {.connect_timeout = timeout_, .timeout = timeout_});
  if (!r.reached()) throw RpcError(RpcError::Kind::unreachable, "aria2c: " + r.error);
  return std::move(r.body);
}

json RpcClient::call(const std::string& method, json params) const {
  std::string body = post(request(method, std::move(params), 1));
  json reply = json::parse(body, nullptr, false);
  if (reply.is_discarded()) throw RpcError(RpcError::Kind::protocol, "aria2c's reply is not JSON");
  return result_of(reply);
}

std::string RpcClient::batch_body(const std::vector<std::pair<std::string, json>>& calls) const {
  json body = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i)
    body.push_back(request(calls[i].first, calls[i].second, static_cast<int>(i)));
  return post(body);
}

}  // namespace moccha::aria2
