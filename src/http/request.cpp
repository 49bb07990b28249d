#include "http/request.h"

#include <unistd.h>

#include <charconv>
#include <exception>
#include <limits>

namespace moccha::http {

using json = nlohmann::json;

std::string ApiRequest::query_or(const std::string& key, std::string fallback) const {
  auto it = query.find(key);
  return it == query.end() ? std::move(fallback) : it->second;
}

ApiResponse ApiResponse::error(int status, std::string error, std::string message) {
  nlohmann::json envelope = {{"success", false}, {"error", std::move(error)}};
  if (!message.empty()) envelope["message"] = std::move(message);
  return ApiResponse{status, std::move(envelope)};
}

FileRange::~FileRange() {
  if (fd >= 0) ::close(fd);
}

struct Responder::State {
  Fn fn;
};

Responder::Responder(Fn fn) : state_(std::make_unique<State>(State{std::move(fn)})) {}

Responder::Responder(Responder&&) noexcept = default;
Responder& Responder::operator=(Responder&&) noexcept = default;

Responder::~Responder() {
  // Unwinding from a throwing handler: the server's catch answers with the error instead.
  if (std::uncaught_exceptions() > 0) return;
  if (state_ && state_->fn)
    state_->fn(ApiResponse::error(500, "internal error", "the handler dropped the request"));
}

void Responder::operator()(ApiResponse response) {
  if (!state_ || !state_->fn) return;
  Fn fn = std::move(state_->fn);
  state_->fn = nullptr;
  fn(std::move(response));
}

const json& require_field(const json& body, const char* name) {
  if (!body.is_object()) throw ApiError(400, "request body must be a JSON object");
  auto it = body.find(name);
  if (it == body.end() || it->is_null())
    throw ApiError(400, std::string("missing field '") + name + "'");
  return *it;
}

std::string require_string(const json& body, const char* name) {
  const json& v = require_field(body, name);
  if (!v.is_string()) throw ApiError(400, std::string("field '") + name + "' must be a string");
  return v.get<std::string>();
}

namespace {

const json* optional_field(const json& body, const char* name) {
  if (body.is_null()) return nullptr;
  if (!body.is_object()) throw ApiError(400, "request body must be a JSON object");
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

std::optional<std::string> optional_string(const json& body, const char* name) {
  const json* v = optional_field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw ApiError(400, std::string("field '") + name + "' must be a string");
  return v->get<std::string>();
}

std::optional<double> optional_number(const json& body, const char* name) {
  const json* v = optional_field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw ApiError(400, std::string("field '") + name + "' must be a number");
  return v->get<double>();
}

std::optional<bool> optional_bool(const json& body, const char* name) {
  const json* v = optional_field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw ApiError(400, std::string("field '") + name + "' must be a boolean");
  return v->get<bool>();
}

std::optional<long long> optional_int_query(const ApiRequest& req, const char* name, long long lo,
                                            long long hi) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return std::nullopt;
  long long v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    std::string range = hi == std::numeric_limits<long long>::max()
                            ? "of at least " + std::to_string(lo)
                            : "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    throw ApiError(400, std::string("query parameter '") + name + "' must be an integer " + range);
  }
  return v;
}

}  // namespace moccha::http
