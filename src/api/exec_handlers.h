// The handlers of the execution routes, one named function each (api/exec_api.cpp is their
// route table). Each takes the routes' shared deps; those that answer later get the Responder.
#pragma once

#include <memory>

#include "api/exec_api.h"
#include "http/request.h"

namespace moccha::api::exec_routes {

using Deps = std::shared_ptr<ExecApiDeps>;

void execute(const Deps& deps, http::ApiRequest& req, http::Responder respond);
http::ApiResponse async_execute(const Deps& deps, const http::ApiRequest& req);
void get_task(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void get_task_output(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void task_events(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void list_tasks(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void cancel_task(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void list_variables(const Deps& deps, http::ApiRequest&, http::Responder respond);
void delete_variable(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void history(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void shell(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void install(const Deps& deps, http::ApiRequest& req, http::Responder respond);
void restart_kernel(const Deps& deps, http::ApiRequest&, http::Responder respond);
http::ApiResponse interrupt_kernel(const Deps& deps, const http::ApiRequest&);

}  // namespace moccha::api::exec_routes
