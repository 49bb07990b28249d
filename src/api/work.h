// The one boundary between blocking work and its reply: runs `work` on a pool and answers
// with what it returns, or with the error it throws mapped to a status: ApiError as it says,
// files::Error by its code (400/403/404/409/500), ServiceError by its kind
// (400/404/409/501/502/503/500), DiskFull 507, a JSON error 400, anything
// else 500 (logged). Handlers in api/ post their blocking work through this, never bare.
#pragma once

#include <exception>
#include <functional>

#include "core/worker_pool.h"
#include "http/request.h"
#include "services/service.h"

namespace moccha::api {

int status_for(services::ServiceError::Kind kind);

void answer_on(const Post& pool, http::Responder respond, std::function<http::ApiResponse()> work);

// The reply for the exception being handled (call it inside a catch block).
http::ApiResponse reply_for_current_exception();
// The same, thrown as an ApiError: for code that refuses by throwing (upload sinks).
[[noreturn]] void rethrow_as_api_error();

}  // namespace moccha::api
