#include "api/work.h"

#include <memory>

#include "core/errors.h"
#include "core/log.h"
#include "files/paths.h"
#include "services/service.h"

namespace moccha::api {

using http::ApiError;
using http::ApiResponse;

int status_for(services::ServiceError::Kind kind) {
  using Kind = services::ServiceError::Kind;
  switch (kind) {
    case Kind::invalid:
      return 400;
    case Kind::not_found:
      return 404;
    case Kind::conflict:
      return 409;
    case Kind::not_implemented:
      return 501;
    case Kind::bad_reply:
      return 502;
    case Kind::unavailable:
      return 503;
    case Kind::no_space:
      return 507;
    case Kind::failed:
      break;
  }
  return 500;
}

ApiResponse reply_for_current_exception() {
  try {
    throw;
  } catch (const ApiError& e) {
    return ApiResponse::error(e.status, e.what(), e.message);
  } catch (const services::ServiceError& e) {
    return ApiResponse::error(status_for(e.kind), e.what());
  } catch (const DiskFull& e) {
    return ApiResponse::error(507, "insufficient storage", e.what());
  } catch (const files::Error& e) {
    switch (e.code) {
      case files::Code::invalid:
        return ApiResponse::error(400, "invalid path", e.what());
      case files::Code::forbidden:
        return ApiResponse::error(403, "forbidden", e.what());
      case files::Code::not_found:
        return ApiResponse::error(404, "not found", e.what());
      case files::Code::exists:
        return ApiResponse::error(409, "conflict", e.what());
      case files::Code::io:
        break;
    }
    return ApiResponse::error(500, "file system error", e.what());
  } catch (const nlohmann::json::exception& e) {
    return ApiResponse::error(400, "invalid request", e.what());
  } catch (const std::exception& e) {
    log::error("blocking work failed: {}", e.what());
    return ApiResponse::error(500, "internal error", e.what());
  } catch (...) {
    log::error("blocking work failed with a non-exception");
    return ApiResponse::error(500, "internal error");
  }
}

void rethrow_as_api_error() {
  ApiResponse r = reply_for_current_exception();
  throw ApiError(r.status, r.json.value("error", ""), r.json.value("message", ""));
}

void answer_on(const Post& pool, http::Responder respond, std::function<ApiResponse()> work) {
  auto r = std::make_shared<http::Responder>(std::move(respond));
  pool([r, work = std::move(work)] {
    ApiResponse reply;
    try {
      reply = work();
    } catch (...) {
      reply = reply_for_current_exception();
    }
    (*r)(std::move(reply));
  });
}

}  // namespace moccha::api
