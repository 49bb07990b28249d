#include "api/exec_api.h"

#include <memory>

#include "api/exec_handlers.h"
#include "api/work.h"
#include "http/router.h"

namespace moccha::api {

namespace s = http::schema;
using http::ApiRequest;
using http::Responder;
void add_exec_routes(http::Router& router, ExecApiDeps d) {
  using namespace exec_routes;
  auto deps = std::make_shared<ExecApiDeps>(std::move(d));
  auto bound = [&deps](auto f) { return handler(deps, f); };
  auto query = [&deps](auto f) { return answers(deps, f); };

  router.add(
      {"POST", "/execute", bound(execute), http::BodyKind::json},
      {"exec",
       "Run Python in the persistent kernel and wait for it",
       {},
       s::object({{"code", s::string()}, {"timeout", s::number("seconds")}}, {"code"}),
       s::object({{"id", s::string("The history id; GET /task/{id}/output reads a spilled output")},
                  {"output", s::string("stdout and stderr as the cell wrote them")},
                  {"error", s::string()},
                  {"variables", s::object({})},
                  {"success", s::boolean()},
                  {"result", s::any("repr of the last expression")},
                  {"truncated", s::boolean()},
                  {"output_bytes", s::integer()},
                  {"duration", s::number()},
                  {"output_url", s::string()}},
                 {"id", "output", "error", "success", "truncated", "duration"}),
       "",
       {},
       {{"code", "print('Hello World')\nresult = 2 + 2"}}});

  router.add({"POST", "/async-execute", query(async_execute), http::BodyKind::json},
             {"exec",
              "Queue Python as a task; poll GET /task/{id} while its status is running",
              {},
              s::object({{"code", s::string()}, {"timeout", s::number("seconds")}}, {"code"}),
              s::object({{"task_id", s::string()},
                         {"status", s::string()},
                         {"queued", s::boolean()},
                         {"position", s::nullable(s::integer())}},
                        {"task_id", "status", "queued", "position"}),
              "",
              {},
              {{"code", "import time\ntime.sleep(10)\nprint('Done')"}}});

  router.add({"GET", "/task/{task_id}", bound(get_task)},
             {"exec",
              "An async task: its status, output, value and variables",
              {},
              nullptr,
              s::object({{"task_id", s::string()},
                         {"status", s::string("running, done, error or cancelled")},
                         {"queued", s::boolean()},
                         {"position", s::nullable(s::integer())},
                         {"result", s::string("its output")},
                         {"error", s::string()},
                         {"truncated", s::boolean()},
                         {"created", s::string()},
                         {"finished", s::nullable(s::string())},
                         {"code", s::string()}},
                        {"task_id", "status", "queued", "created", "finished"}),
              "",
              {404}});

  router.add({"GET", "/task/{task_id}/output", bound(get_task_output)},
             {"exec",
              "The whole output of a task, an execution or a shell command (Range allowed)",
              {{"stream", "output (a cell's, the default), stdout or stderr (a command's)"}},
              nullptr,
              nullptr,
              "text/plain",
              {206, 304, 400, 404, 416}});

  router.add({"GET", "/task/{task_id}/events", bound(task_events)},
             {"exec",
              "A task's output as it comes (Server-Sent Events), then its end",
              {},
              nullptr,
              nullptr,
              "text/event-stream",
              {404}});

  router.add(
      {"GET", "/tasks", bound(list_tasks)},
      {"exec",
       "The newest tasks, without their output",
       {{"limit", "How many (1-1000, 50)", "integer"}},
       nullptr,
       s::object({{"tasks", s::array(s::object({}))}, {"count", s::integer()}}, {"tasks", "count"}),
       "",
       {400}});

  router.add({"DELETE", "/task/{task_id}", bound(cancel_task)},
             {"exec",
              "Cancel a task (a running one is interrupted)",
              {},
              nullptr,
              s::reply({{"task_id", s::string()}, {"status", s::string()}}, {"task_id", "status"}),
              "",
              {404, 409}});

  router.add({"GET", "/variables", bound(list_variables)},
             {"exec",
              "The kernel's variables: name to value (JSON where it can be, else its repr)",
              {},
              nullptr,
              s::map(s::any("the value, or its repr")),
              "",
              {503}});

  router.add({"DELETE", "/variables/{variable_name}", bound(delete_variable)},
             {"exec",
              "Delete a variable from the kernel",
              {},
              nullptr,
              s::object({{"deleted", s::string()}}, {"deleted"}),
              "",
              {404, 503}});

  router.add({"GET", "/history", bound(history)},
             {"exec",
              "The newest executions, shell commands and installs",
              {{"limit", "How many (1-1000, 20)", "integer"}},
              nullptr,
              s::array(s::object({{"id", s::string()},
                                  {"type", s::string()},
                                  {"time", s::string()},
                                  {"input", s::string()},
                                  {"success", s::boolean()},
                                  {"duration", s::number()}},
                                 {"id", "type", "time", "input", "success"})),
              "",
              {400}});

  router.add({"POST", "/shell", bound(shell), http::BodyKind::json},
             {"exec",
              "Run a shell command in the workspace; its whole process group ends at the timeout",
              {},
              s::object({{"command", s::string()}, {"timeout", s::number("seconds")}}, {"command"}),
              s::object({{"id", s::string()},
                         {"stdout", s::string()},
                         {"stderr", s::string()},
                         {"code", s::integer()},
                         {"success", s::boolean()},
                         {"duration", s::number()},
                         {"stdout_bytes", s::integer()},
                         {"stderr_bytes", s::integer()},
                         {"truncated", s::boolean()},
                         {"timed_out", s::boolean()},
                         {"stdout_url", s::string()},
                         {"stderr_url", s::string()}},
                        {"id", "stdout", "stderr", "code", "success", "duration"}),
              "",
              {507},
              {{"command", "ls -la"}, {"timeout", 30}}});

  router.add(
      {"POST", "/install", bound(install), http::BodyKind::json},
      {"exec",
       "pip install one requirement into the kernel's Python",
       {},
       s::object({{"package", s::string("name[extras]==version, a path or a URL")}}, {"package"}),
       s::object({{"package", s::string()},
                  {"success", s::boolean()},
                  {"output", s::string()},
                  {"error", s::string()}},
                 {"package", "success", "output", "error"}),
       "",
       {507},
       {{"package", "requests"}}});

  router.add({"POST", "/kernel/restart", bound(restart_kernel)},
             {"exec",
              "Restart the kernel (after the work queued before); the namespace is new",
              {},
              nullptr,
              s::reply({{"message", s::string()}, {"pid", s::integer()}}, {"message"}),
              "",
              {503}});

  router.add({"POST", "/kernel/interrupt", query(interrupt_kernel)},
             {"exec",
              "Interrupt the running execution, if any",
              {},
              nullptr,
              s::reply({{"message", s::string()}}, {"message"})});
}

}  // namespace moccha::api
