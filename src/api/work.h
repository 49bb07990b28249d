// The one boundary between blocking work and its reply: runs `work` on a pool and answers
// with what it returns, or with the error it throws mapped to a status: ApiError as it says,
// files::Error by its code (400/403/404/409/500), ServiceError by its kind
// (400/404/409/501/502/503/507/500), DiskFull 507, a JSON error 400, anything
// else 500 (logged). Handlers in api/ post their blocking work through this, never bare.
#pragma once

#include <exception>
#include <functional>
#include <memory>

#include "core/worker_pool.h"
#include "http/request.h"
#include "services/service.h"

namespace moccha::api {

int status_for(services::ServiceError::Kind kind);

void answer_on(const Post& pool, http::Responder respond, std::function<http::ApiResponse()> work);

// How a route table names its handlers: a handler of the table's file, `f(deps, req, respond)`
// for one that answers when it will, or `f(deps, req)` returning the reply for one that answers
// at once (answers()), with the file's shared deps bound.
template <class D, class F>
http::Handler handler(D deps, F f) {
  return [deps = std::move(deps), f](http::ApiRequest& req, http::Responder respond) {
    f(deps, req, std::move(respond));
  };
}
template <class D, class F>
http::Handler answers(D deps, F f) {
  return http::sync(
      [deps = std::move(deps), f](const http::ApiRequest& req) { return f(deps, req); });
}

// ... and `f(deps, req)` run on `pool`, for one that blocks. The work gets its own copy of the
// request: at shutdown a request still waiting on its pool is answered (503) and gone while
// the work may still run.
template <class D, class F>
http::Handler on_pool(D deps, Post pool, F f) {
  return [deps = std::move(deps), pool = std::move(pool), f](http::ApiRequest& req,
                                                             http::Responder respond) {
    auto own = std::make_shared<const http::ApiRequest>(req);
    answer_on(pool, std::move(respond), [deps, f, own] { return f(deps, *own); });
  };
}

// The reply for the exception being handled (call it inside a catch block).
http::ApiResponse reply_for_current_exception();
// The same, thrown as an ApiError: for code that refuses by throwing (upload sinks).
[[noreturn]] void rethrow_as_api_error();

}  // namespace moccha::api
