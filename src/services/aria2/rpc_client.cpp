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

json RpcClient::post(const json& body) const {
  HttpReply r = http_post("http://127.0.0.1:" + std::to_string(port_) + "/jsonrpc", {}, body.dump(),
                          {.connect_timeout = timeout_, .timeout = timeout_});
  if (!r.reached()) throw RpcError(RpcError::Kind::unreachable, "aria2c: " + r.error);
  json reply = json::parse(r.body, nullptr, false);
  if (reply.is_discarded())
    throw RpcError(RpcError::Kind::protocol,
                   "aria2c answered HTTP " + std::to_string(r.status) + " with no JSON");
  return reply;
}

json RpcClient::call(const std::string& method, json params) const {
  return result_of(post(request(method, std::move(params), 1)));
}

std::vector<json> RpcClient::batch(const std::vector<std::pair<std::string, json>>& calls) const {
  json body = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i)
    body.push_back(request(calls[i].first, calls[i].second, static_cast<int>(i)));
  json reply = post(body);
  if (!reply.is_array() || reply.size() != calls.size())
    throw RpcError(RpcError::Kind::protocol, "aria2's batch reply does not match the calls");
  std::vector<json> out(calls.size());
  for (const auto& r : reply) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_number_integer())
      throw RpcError(RpcError::Kind::protocol, "aria2's batch reply has no id");
    auto i = r["id"].get<std::size_t>();
    if (i >= out.size()) throw RpcError(RpcError::Kind::protocol, "aria2's batch id out of range");
    out[i] = result_of(r);
  }
  return out;
}

}  // namespace moccha::aria2
