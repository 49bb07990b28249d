#include "api/exec_handlers.h"

#include <fcntl.h>

#include <deque>
#include <memory>
#include <mutex>

#include "api/file_reply.h"
#include "api/work.h"
#include "core/errors.h"
#include "core/time_util.h"
#include "exec/commands.h"
#include "exec/engine.h"
#include "http/router.h"
#include "store/database.h"
#include "store/output_store.h"

namespace moccha::api {
namespace {

using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;

std::optional<double> timeout_field(const json& body, double max_s) {
  auto t = http::optional_number(body, "timeout");
  if (t && (*t <= 0 || *t > max_s))
    throw ApiError(400, "field 'timeout' must be a number of seconds in (0, " +
                            std::to_string(static_cast<long long>(max_s)) + "]");
  return t;
}

int int_query(const ApiRequest& req, const char* name, int fallback, int lo, int hi) {
  return static_cast<int>(http::optional_int_query(req, name, lo, hi).value_or(fallback));
}

// A shell or pip run's reply, with its history entry saved. On a full disk the command has
// run all the same: a 507 that still carries what it printed.
ApiResponse with_history(store::Database* db, const store::HistoryEntry& entry, json body) {
  try {
    db->add_history(entry);
  } catch (const DiskFull& e) {
    ApiResponse r = ApiResponse::error(
        507, "insufficient storage",
        std::string(e.what()) + "; the command ran, but its history entry was not saved");
    r.json["result"] = std::move(body);
    return r;
  }
  return ApiResponse::ok(std::move(body));
}

std::string output_url(const std::string& id, const char* stream = nullptr) {
  return "/task/" + id + "/output" + (stream ? std::string("?stream=") + stream : "");
}

json exec_body(const exec::ExecResult& r, const std::string& id) {
  json j = {{"id", id},
            {"output", r.output},
            {"error", r.error},
            {"variables", r.variables},
            {"success", r.success},
            {"result", r.result},
            {"truncated", r.truncated},
            {"output_bytes", r.output_bytes},
            {"duration", r.duration_s}};
  if (r.spilled) j["output_url"] = output_url(id);
  if (r.kernel_restarted) j["kernel_restarted"] = true;
  if (r.timed_out) j["timed_out"] = true;
  return j;
}

// GET /task/{id}/events: the task's output as Server-Sent Events ("output" events carrying
// {"data": text}), then one "end" event with the task as GET /task/{id} shows it.
class TaskEvents : public http::BodyStream {
 public:
  struct State {
    std::mutex mu;
    std::deque<std::string> pieces;
    bool ended = false;
    std::function<void(std::optional<std::string>)> waiting;
  };

  TaskEvents(exec::Engine* engine, std::string id)
      : state_(std::make_shared<State>()), engine_(engine), id_(std::move(id)) {}
  ~TaskEvents() override {
    if (subscription_) engine_->unsubscribe(id_, *subscription_);
  }

  static std::string output_event(const std::string& text) {
    return "event: output\ndata: " +
           json({{"data", text}}).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  }
  static std::string end_event(const json& task) {
    return "event: end\ndata: " + task.dump(-1, ' ', false, json::error_handler_t::replace) +
           "\n\n";
  }

  static void push(const std::shared_ptr<State>& st, std::string piece, bool end) {
    std::function<void(std::optional<std::string>)> deliver;
    std::optional<std::string> out;
    {
      std::lock_guard lock(st->mu);
      st->pieces.push_back(std::move(piece));
      st->ended = st->ended || end;
      if (!st->waiting) return;
      deliver = std::move(st->waiting);
      st->waiting = nullptr;
      out = std::move(st->pieces.front());
      st->pieces.pop_front();
    }
    deliver(std::move(out));
  }

  void next(std::function<void(std::optional<std::string>)> deliver) override {
    std::optional<std::string> out;
    {
      std::lock_guard lock(state_->mu);
      if (!state_->pieces.empty()) {
        out = std::move(state_->pieces.front());
        state_->pieces.pop_front();
      } else if (!state_->ended) {
        state_->waiting = std::move(deliver);
        return;
      }
    }
    deliver(std::move(out));
  }

  // Subscribes to a running task; false when it is unknown or already finished.
  bool follow() {
    std::weak_ptr<State> weak = state_;
    subscription_ = engine_->subscribe(
        id_,
        [weak](const std::string& text) {
          if (auto st = weak.lock()) push(st, output_event(text), false);
        },
        [weak](const json& task) {
          if (auto st = weak.lock()) push(st, end_event(task), true);
        });
    return subscription_.has_value();
  }
  void replay(const json& task) {
    std::string out = task.value("result", "");
    if (!out.empty()) push(state_, output_event(out), false);
    push(state_, end_event(task), true);
  }

 private:
  std::shared_ptr<State> state_;
  exec::Engine* engine_;
  std::string id_;
  std::optional<exec::Engine::Subscription> subscription_;
};

// GET /task/{id}/output: the whole output of an execution, a shell command or a task, from
// its spill file when it passed the reply's cap; an async task's output from the task when it
// did not. Ranges allowed.
ApiResponse task_output(const ExecApiDeps& d, const ApiRequest& req, const std::string& id,
                        const std::string& stream) {
  if (auto path = d.outputs->find(id, stream)) {
    FileReply f;
    f.fd = files::UniqueFd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.fd || ::fstat(f.fd.get(), &f.st) != 0)
      return ApiResponse::error(404, "output gone", "the output of " + id + " was removed");
    f.content_type = "text/plain; charset=utf-8";
    f.attachment_name = id + "." + stream + ".txt";
    f.shown = "output of " + id;
    return *file_reply(req, std::move(f));
  }
  if (stream == "output")
    if (auto t = d.engine->task(id)) {
      ApiResponse r;
      r.content_type = "text/plain; charset=utf-8";
      r.body = t->value("result", "");
      return r;
    }
  return ApiResponse::error(404, "no such output",
                            "no " + stream + " is kept for " + id +
                                ": only outputs past the reply's cap are kept (the newest), and "
                                "async tasks' outputs");
}

// Responder is move-only; std::function needs copies. Share it.
using SharedResponder = std::shared_ptr<Responder>;
SharedResponder share(Responder r) {
  return std::make_shared<Responder>(std::move(r));
}

}  // namespace

namespace exec_routes {

void execute(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  exec::Engine* engine = deps->engine;

  std::string code = http::require_string(req.json, "code");
  auto timeout = timeout_field(req.json, 7 * 86400);
  auto r = share(std::move(respond));
  engine->execute(std::move(code), timeout, [r](exec::ExecResult result, const std::string& id) {
    (*r)(ApiResponse::ok(exec_body(result, id)));
  });
}

ApiResponse async_execute(const std::shared_ptr<ExecApiDeps>& deps, const ApiRequest& req) {
  exec::Engine* engine = deps->engine;

  std::string code = http::require_string(req.json, "code");
  auto timeout = timeout_field(req.json, 7 * 86400);
  std::string id = engine->submit(std::move(code), timeout);
  auto t = engine->task(id);
  json out = {{"task_id", id}, {"status", "running"}, {"queued", false}, {"position", nullptr}};
  if (t)
    for (const char* k : {"status", "queued", "position"}) out[k] = (*t)[k];
  return ApiResponse::ok(std::move(out));
}

void get_task(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string id = req.params.at("task_id");
  answer_on(deps->quick, std::move(respond), [deps, id] {
    auto t = deps->engine->task(id);
    return t ? ApiResponse::ok(*t) : ApiResponse::error(404, "unknown task", "no task " + id);
  });
}

void get_task_output(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string id = req.params.at("task_id");
  std::string stream = req.query_or("stream", "output");
  if (stream != "output" && stream != "stdout" && stream != "stderr")
    throw ApiError(400, "invalid query parameter 'stream'",
                   "'stream' is output (a cell's), stdout or stderr (a command's)");
  answer_on(deps->quick, std::move(respond),
            [deps, own = std::make_shared<const ApiRequest>(req), id, stream] {
              return task_output(*deps, *own, id, stream);
            });
}

void task_events(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string id = req.params.at("task_id");
  answer_on(deps->quick, std::move(respond), [deps, id] {
    auto events = std::make_shared<TaskEvents>(deps->engine, id);
    if (!events->follow()) {
      auto t = deps->engine->task(id);
      if (!t) return ApiResponse::error(404, "unknown task", "no task " + id);
      events->replay(*t);
    }
    ApiResponse resp;
    resp.content_type = "text/event-stream";
    resp.headers.emplace_back("Cache-Control", "no-cache");
    resp.stream = std::move(events);
    return resp;
  });
}

void list_tasks(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  int limit = int_query(req, "limit", 50, 1, 1000);
  answer_on(deps->quick, std::move(respond), [deps, limit] {
    auto list = deps->engine->tasks(limit);
    return ApiResponse::ok({{"tasks", list}, {"count", list.size()}});
  });
}

void cancel_task(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string id = req.params.at("task_id");
  answer_on(deps->quick, std::move(respond), [deps, id] {
    switch (deps->engine->cancel(id)) {
      case exec::Engine::Cancel::unknown:
        return ApiResponse::error(404, "unknown task", "no task " + id);
      case exec::Engine::Cancel::finished:
        return ApiResponse::error(409, "task already finished", id);
      case exec::Engine::Cancel::cancelled:
        return ApiResponse::ok({{"success", true}, {"task_id", id}, {"status", "cancelled"}});
      case exec::Engine::Cancel::interrupting:
        break;
    }
    return ApiResponse::ok(
        {{"success", true}, {"task_id", id}, {"status", "running"}, {"message", "interrupt sent"}});
  });
}

void list_variables(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest&, Responder respond) {
  exec::Engine* engine = deps->engine;

  auto r = share(std::move(respond));
  engine->variables([r](std::optional<json> reply, std::string error) {
    if (!reply) return (*r)(ApiResponse::error(503, "kernel unavailable", error));
    (*r)(ApiResponse::ok((*reply)["variables"]));
  });
}

void delete_variable(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  exec::Engine* engine = deps->engine;

  auto r = share(std::move(respond));
  std::string name = req.params.at("variable_name");
  engine->delete_variable(name, [r, name](bool found, std::string error) {
    if (!error.empty()) return (*r)(ApiResponse::error(503, "kernel unavailable", error));
    if (!found) return (*r)(ApiResponse::error(404, "unknown variable", "no variable " + name));
    (*r)(ApiResponse::ok({{"deleted", name}}));
  });
}

void history(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  int limit = int_query(req, "limit", 20, 1, 1000);
  answer_on(deps->quick, std::move(respond), [deps, limit] {
    json list = json::array();
    for (const auto& e : deps->db->history(limit))
      list.push_back({{"id", e.id},
                      {"type", e.type},
                      {"time", e.time},
                      {"input", e.input},
                      {"success", e.success},
                      {"duration", e.duration_s}});
    return ApiResponse::ok(std::move(list));
  });
}

void shell(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string command = http::require_string(req.json, "command");

  if (command.find('\0') != std::string::npos)
    throw ApiError(400, "invalid command", "the command holds a NUL byte");
  double timeout =
      timeout_field(req.json, deps->shell_max_timeout_s).value_or(deps->shell_default_timeout_s);
  std::string time = iso8601_utc_now();
  answer_on(deps->jobs, std::move(respond), [deps, command, timeout, time] {
    std::string id = exec::random_id();
    auto s =
        exec::run_shell(command, deps->workspace, timeout, deps->output_limit, deps->outputs, id);
    json body = {{"id", id},
                 {"stdout", s.stdout_text},
                 {"stderr", s.stderr_text},
                 {"code", s.code},
                 {"success", s.success},
                 {"duration", s.duration_s},
                 {"stdout_bytes", s.stdout_bytes},
                 {"stderr_bytes", s.stderr_bytes}};
    if (!s.error.empty()) body["error"] = s.error;
    if (s.timed_out) body["timed_out"] = true;
    if (s.truncated) body["truncated"] = true;
    if (s.stdout_spilled) body["stdout_url"] = output_url(id, "stdout");
    if (s.stderr_spilled) body["stderr_url"] = output_url(id, "stderr");
    return with_history(deps->db, {id, "shell", time, command, s.success, s.duration_s},
                        std::move(body));
  });
}

void install(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest& req, Responder respond) {
  std::string package = http::require_string(req.json, "package");
  std::string why;
  if (!exec::valid_requirement(package, why))
    throw ApiError(400, "invalid package requirement", why);
  std::string time = iso8601_utc_now();
  answer_on(deps->jobs, std::move(respond), [deps, package, time] {
    auto out = exec::pip_install(deps->python, package, deps->pip_index_url, deps->workspace,
                                 deps->pip_timeout_s, deps->output_limit);

    if (out.success) deps->engine->invalidate_spare();
    return with_history(deps->db,
                        {exec::random_id(), "install", time, package, out.success, out.duration_s},
                        {{"package", package},
                         {"success", out.success},
                         {"output", out.output},
                         {"error", out.error}});
  });
}

void restart_kernel(const std::shared_ptr<ExecApiDeps>& deps, ApiRequest&, Responder respond) {
  exec::Engine* engine = deps->engine;

  auto r = share(std::move(respond));
  engine->restart([r, engine](std::string error) {
    if (!error.empty()) return (*r)(ApiResponse::error(503, "kernel failed to start", error));
    (*r)(ApiResponse::ok({{"success", true},
                          {"message", "kernel restarted; the namespace is empty"},
                          {"pid", engine->kernel_pid()}}));
  });
}

ApiResponse interrupt_kernel(const std::shared_ptr<ExecApiDeps>& deps, const ApiRequest&) {
  exec::Engine* engine = deps->engine;

  bool running = engine->interrupt();
  return ApiResponse::ok(
      {{"success", true}, {"message", running ? "interrupt sent" : "nothing was running"}});
}

}  // namespace exec_routes
}  // namespace moccha::api
