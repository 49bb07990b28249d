#include "exec/engine.h"

#include <fmt/core.h>

#include "core/capped_output.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/time_util.h"
#include "store/database.h"
#include "store/output_store.h"

namespace moccha::exec {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string random_id() {
  return random_hex(8);
}

struct Engine::Task {
  std::string id, code;
  std::string status = "queued";  // queued | running | done | error | cancelled
  std::string created, finished;
  ExecResult result;
  bool cancel_requested = false;
  struct Listener {
    Subscription id;
    std::function<void(const std::string&)> on_output;
    std::function<void(const json&)> on_end;
  };
  std::vector<Listener> listeners;
};

struct Engine::Job {
  enum class Kind { execute, variables, remove, restart } kind = Kind::execute;
  std::string id;
  std::string code;
  std::optional<double> timeout_s;
  std::string name;
  std::string time;  // when it was asked for
  Done on_done;
  std::function<void(std::optional<json>, std::string)> on_json;
  std::shared_ptr<Task> task;
};

Engine::Engine(EngineOptions options, store::Database* db)
    : opt_(std::move(options)), db_(db), kernel_(std::make_unique<KernelProcess>(opt_.kernel)) {
  if (db_) executions_ = db_->count_history({"execute", "async-execute"});
}

void Engine::invalidate_spare() {
  spare_stale_ = true;
}

Engine::~Engine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  halt_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  kernel_->kill();
}

void Engine::start() {
  thread_ = std::thread([this] { worker(); });
}

void Engine::enqueue(std::shared_ptr<Job> job) {
  job->time = iso8601_utc_now();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Engine::execute(std::string code, std::optional<double> timeout_s, Done done) {
  auto job = std::make_shared<Job>();
  job->id = random_id();
  job->code = std::move(code);
  job->timeout_s = timeout_s;
  job->on_done = std::move(done);
  enqueue(std::move(job));
}

std::string Engine::submit(std::string code, std::optional<double> timeout_s) {
  auto task = std::make_shared<Task>();
  task->id = random_id();
  task->code = code;
  task->created = iso8601_utc_now();
  auto job = std::make_shared<Job>();
  job->id = task->id;
  job->code = std::move(code);
  job->timeout_s = timeout_s;
  job->task = task;
  {
    std::lock_guard lock(mu_);
    tasks_[task->id] = task;
    task_order_.push_back(task->id);
    // Forget the oldest finished tasks beyond the bound; the db keeps them.
    while (task_order_.size() > opt_.tasks_in_memory) {
      auto it = tasks_.find(task_order_.front());
      if (it != tasks_.end() && (it->second->status == "queued" || it->second->status == "running"))
        break;
      if (it != tasks_.end()) tasks_.erase(it);
      task_order_.pop_front();
    }
  }
  enqueue(std::move(job));
  return task->id;
}

json Engine::task_json(const Task& t) const {
  // The spec's contract: a client polls while "running". A task still waiting its turn is
  // "running" too (it has not finished), with where it waits said beside it.
  bool waiting = t.status == "queued";
  json position = nullptr;
  if (waiting) {
    long long n = 0;
    for (const auto& job : queue_) {
      ++n;
      if (job->task.get() == &t) {
        position = n;
        break;
      }
    }
  }
  json j = {{"task_id", t.id},
            {"status", waiting ? "running" : t.status},
            {"queued", waiting},
            {"position", position},
            {"result", t.result.output},  // the spec's name for the task's output
            {"error", t.result.error},
            {"value", t.result.result},
            {"variables", t.result.variables},
            {"truncated", t.result.truncated},
            {"output_bytes", t.result.output_bytes},
            {"created", t.created},
            {"finished", t.finished.empty() ? json(nullptr) : json(t.finished)},
            {"code", t.code}};
  if (t.result.spilled) j["output_url"] = "/task/" + t.id + "/output";
  if (t.result.kernel_restarted) j["kernel_restarted"] = true;
  return j;
}

std::optional<json> Engine::task(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = tasks_.find(id); it != tasks_.end()) return task_json(*it->second);
  }
  if (db_) return db_->load_task(id);
  return std::nullopt;
}

std::vector<json> Engine::tasks(int limit) {
  std::vector<json> out;
  std::map<std::string, bool> seen;
  {
    std::lock_guard lock(mu_);
    for (auto it = task_order_.rbegin(); it != task_order_.rend() && (int)out.size() < limit;
         ++it) {
      if (auto t = tasks_.find(*it); t != tasks_.end()) {
        json j = task_json(*t->second);
        j.erase("result");  // a listing shows status, not every task's output
        j.erase("variables");
        out.push_back(std::move(j));
        seen[*it] = true;
      }
    }
  }
  if (db_ && (int)out.size() < limit) {
    for (auto& j : db_->recent_tasks(limit)) {
      if ((int)out.size() >= limit) break;
      if (seen.count(j.value("task_id", ""))) continue;
      j.erase("result");
      j.erase("variables");
      out.push_back(std::move(j));
    }
  }
  return out;
}

Engine::Cancel Engine::cancel(const std::string& id) {
  std::shared_ptr<Task> task;
  std::unique_lock lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    lock.unlock();
    return db_ && db_->load_task(id) ? Cancel::finished : Cancel::unknown;
  }
  task = it->second;
  if (task->status == "queued") {
    std::erase_if(queue_, [&](const auto& j) { return j->task == task; });
    ExecResult r;
    r.error = "cancelled before it ran";
    task->status = "cancelled";
    task->finished = iso8601_utc_now();
    task->result = r;
    auto listeners = std::move(task->listeners);
    json final_json = task_json(*task);
    lock.unlock();
    if (db_) db_->save_task(task->id, task->created, final_json);
    for (auto& l : listeners) l.on_end(final_json);
    if (opt_.on_task_end) opt_.on_task_end(final_json);
    return Cancel::cancelled;
  }
  if (task->status == "running") {
    task->cancel_requested = true;
    interrupt_requested_ = true;
    return Cancel::interrupting;
  }
  return Cancel::finished;
}

std::optional<Engine::Subscription> Engine::subscribe(
    const std::string& id, std::function<void(const std::string&)> on_output,
    std::function<void(const json&)> on_end) {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  Task& t = *it->second;
  if (t.status != "queued" && t.status != "running") return std::nullopt;
  if (!t.result.output.empty()) on_output(t.result.output);
  Subscription s = ++next_subscription_;
  t.listeners.push_back({s, std::move(on_output), std::move(on_end)});
  return s;
}

void Engine::unsubscribe(const std::string& id, Subscription s) {
  std::lock_guard lock(mu_);
  if (auto it = tasks_.find(id); it != tasks_.end())
    std::erase_if(it->second->listeners, [s](const auto& l) { return l.id == s; });
}

void Engine::variables(std::function<void(std::optional<json>, std::string)> done) {
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::variables;
  job->id = random_id();
  job->on_json = std::move(done);
  enqueue(std::move(job));
}

void Engine::delete_variable(std::string name, std::function<void(bool, std::string)> done) {
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::remove;
  job->id = random_id();
  job->name = std::move(name);
  job->on_json = [done = std::move(done)](std::optional<json> reply, std::string error) {
    done(reply && reply->value("success", false), std::move(error));
  };
  enqueue(std::move(job));
}

void Engine::restart(std::function<void(std::string)> done) {
  auto job = std::make_shared<Job>();
  job->kind = Job::Kind::restart;
  job->on_json = [done = std::move(done)](std::optional<json>, std::string error) {
    done(std::move(error));
  };
  enqueue(std::move(job));
}

std::size_t Engine::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool Engine::busy() const {
  std::lock_guard lock(mu_);
  return running_ != nullptr;
}

bool Engine::interrupt() {
  std::lock_guard lock(mu_);
  if (!running_ || running_->kind != Job::Kind::execute) return false;
  interrupt_requested_ = true;
  return true;
}

bool Engine::ensure_kernel(std::string& error) {
  if (kernel_->running()) return true;
  // A warm spare, spawned when the last kernel started, is ready by now: the new namespace
  // costs a swap, not a Python start-up. Without one (the first start, a spare that died, a
  // pip install since it started), a kernel starts now.
  bool ok = false;
  if (spare_ && spare_->running() && !spare_stale_.exchange(false)) {
    std::swap(kernel_, spare_);
    ok = kernel_->wait_ready(error);
    if (!ok) log::warn("the spare kernel was not ready ({}): starting one", error);
  }
  if (spare_) spare_->kill();
  if (!ok) {
    error.clear();
    ok = kernel_->start(error);
  }
  if (ok && opt_.warm_spare) {
    if (!spare_) spare_ = std::make_unique<KernelProcess>(opt_.kernel);
    std::string spare_error;
    if (!spare_->spawn(spare_error)) log::warn("no spare kernel: {}", spare_error);
  }
  kernel_pid_ = ok ? kernel_->pid() : -1;
  variable_count_ = 0;
  if (ok)
    log::info("python kernel started (pid {})", kernel_->pid());
  else
    log::error("python kernel failed to start: {}", error);
  return ok;
}

void Engine::restart_kernel(ExecResult& r, const std::string& why) {
  kernel_->kill();
  std::string error;
  ensure_kernel(error);
  r.kernel_restarted = true;
  r.success = false;
  if (!r.error.empty() && r.error.back() != '\n') r.error += '\n';
  r.error += why + "; the kernel was restarted and the namespace was lost";
  if (!error.empty()) r.error += " (restart failed: " + error + ")";
  log::warn("python kernel restarted: {}", why);
}

ExecResult Engine::run_execute(Job& job) {
  ExecResult r;
  auto started = Clock::now();
  std::string error;
  if (!ensure_kernel(error)) {
    r.error = error;
    return r;
  }
  // The kernel sends all the cell writes, up to what may be spilled; memory keeps the limit.
  std::uint64_t spill_limit = opt_.outputs ? opt_.outputs->spill_limit() : 0;
  CappedOutput output(opt_.output_limit,
                      spill_limit ? opt_.outputs->path(job.id, "output") : std::filesystem::path(),
                      spill_limit);
  std::uint64_t kernel_limit = std::max<std::uint64_t>(opt_.output_limit, spill_limit);
  if (!kernel_->send(
          {{"id", job.id}, {"op", "execute"}, {"code", job.code}, {"limit", kernel_limit}})) {
    restart_kernel(r, "the kernel was not accepting work");
    return r;
  }
  auto timeout_at = job.timeout_s && *job.timeout_s > 0
                        ? started + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(*job.timeout_s))
                        : Clock::time_point::max();
  std::optional<Clock::time_point> interrupted_at;
  while (true) {
    json frame;
    std::string why;
    auto now = Clock::now();
    auto wait_until = now + std::chrono::milliseconds(100);
    if (!interrupted_at) wait_until = std::min(wait_until, timeout_at);
    auto got = kernel_->read(frame, wait_until, why);
    if (got == KernelProcess::Read::dead) {
      restart_kernel(r, why);
      break;
    }
    if (got == KernelProcess::Read::frame) {
      if (frame.value("id", "") != job.id) continue;  // a late frame of an earlier run
      std::string type = frame.value("type", "");
      if (type == "output") {
        auto data = frame.find("data");
        if (data == frame.end() || !data->is_string()) continue;
        std::string_view kept = output.append(data->get_ref<const std::string&>());
        if (kept.empty() || !job.task) continue;
        std::string piece(kept);
        std::lock_guard lock(mu_);
        job.task->result.output += piece;
        for (auto& l : job.task->listeners) l.on_output(piece);
        continue;
      }
      if (type == "done") {
        r.success = frame.value("success", false);
        r.error = frame.value("error", "");
        r.variables = frame.contains("variables") ? frame["variables"] : json::object();
        r.result = frame.contains("result") ? frame["result"] : json(nullptr);
        r.truncated = r.truncated || frame.value("truncated", false);
        variable_count_ = frame.value("variable_count", 0LL);
        if (r.timed_out) {
          r.success = false;
          r.error += fmt::format(
              "TimeoutError: the execution ran past its timeout of {} s "
              "and was interrupted\n",
              *job.timeout_s);
        }
        break;
      }
      continue;
    }
    if (halt_) {
      r.error = "the agent is shutting down";
      break;
    }
    // No frame yet: time to interrupt, or to give up on an interrupt?
    now = Clock::now();
    bool want_interrupt = interrupt_requested_.exchange(false);
    if (now >= timeout_at && !interrupted_at) {
      r.timed_out = true;
      want_interrupt = true;
    }
    if (want_interrupt && !interrupted_at) {
      kernel_->interrupt();
      interrupted_at = now;
    }
    if (interrupted_at && now - *interrupted_at >= opt_.interrupt_grace) {
      restart_kernel(r, r.timed_out ? fmt::format("the execution ran past its timeout of {} s "
                                                  "and did not stop when interrupted",
                                                  *job.timeout_s)
                                    : "the execution did not stop when interrupted");
      break;
    }
  }
  output.close();
  r.output = output.take();
  r.truncated = r.truncated || output.truncated();
  r.output_bytes = output.total();
  r.spilled = output.spilled();
  if (!output.spill_error().empty()) log::warn("execution {}: {}", job.id, output.spill_error());
  if (r.spilled) opt_.outputs->prune();
  r.duration_s = std::chrono::duration<double>(Clock::now() - started).count();
  return r;
}

bool Engine::simple_request(const json& req, json& reply, std::string& error) {
  if (!ensure_kernel(error)) return false;
  if (!kernel_->send(req)) {
    ExecResult r;
    restart_kernel(r, "the kernel was not accepting work");
    error = r.error;
    return false;
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    std::string why;
    auto got = kernel_->read(reply, deadline, why);
    if (got == KernelProcess::Read::frame) {
      if (reply.value("id", "") == req["id"] && reply.value("type", "") == "done") return true;
      continue;
    }
    ExecResult r;
    restart_kernel(r, got == KernelProcess::Read::timeout ? "the kernel did not answer" : why);
    error = r.error;
    return false;
  }
}

void Engine::finish_task(Task& t, const ExecResult& r) {
  std::vector<Task::Listener> listeners;
  json final_json;
  {
    std::lock_guard lock(mu_);
    t.result = r;
    t.finished = iso8601_utc_now();
    t.status = r.success ? "done" : (t.cancel_requested ? "cancelled" : "error");
    listeners = std::move(t.listeners);
    final_json = task_json(t);
  }
  if (db_) {
    try {
      db_->save_task(t.id, t.created, final_json);
    } catch (const std::exception& e) {
      log::error("cannot store task {}: {}", t.id, e.what());
    }
  }
  for (auto& l : listeners) l.on_end(final_json);
  if (opt_.on_task_end) opt_.on_task_end(final_json);
}

void Engine::record(const std::string& id, const std::string& type, const std::string& input,
                    bool success, double seconds, const std::string& time) {
  if (!db_) return;
  try {
    db_->add_history({id, type, time, input, success, seconds});
  } catch (const std::exception& e) {
    log::error("cannot record history: {}", e.what());
  }
}

void Engine::worker() {
  {
    std::string error;
    ensure_kernel(error);
  }
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) {
        // Whoever still waits gets an answer rather than silence.
        for (auto& j : queue_) {
          if (j->on_done) {
            ExecResult r;
            r.error = "the agent is shutting down";
            j->on_done(r, j->id);
          }
          if (j->on_json) j->on_json(std::nullopt, "the agent is shutting down");
        }
        queue_.clear();
        return;
      }
      job = queue_.front();
      queue_.pop_front();
      running_ = job;
      interrupt_requested_ = false;
      if (job->task) job->task->status = "running";
    }
    switch (job->kind) {
      case Job::Kind::execute: {
        ExecResult r = run_execute(*job);
        ++executions_;
        record(job->id, job->task ? "async-execute" : "execute", job->code, r.success, r.duration_s,
               job->task ? job->task->created : job->time);
        if (job->task) finish_task(*job->task, r);
        if (job->on_done) job->on_done(std::move(r), job->id);
        break;
      }
      case Job::Kind::variables:
      case Job::Kind::remove: {
        json req = {{"id", job->id}};
        if (job->kind == Job::Kind::variables) {
          req["op"] = "variables";
        } else {
          req["op"] = "delete";
          req["name"] = job->name;
        }
        json reply;
        std::string error;
        if (simple_request(req, reply, error)) {
          if (reply.contains("variable_count")) variable_count_ = reply["variable_count"];
          if (job->kind == Job::Kind::variables && reply.contains("variables"))
            variable_count_ = static_cast<long long>(reply["variables"].size());
          job->on_json(reply, "");
        } else {
          job->on_json(std::nullopt, error);
        }
        break;
      }
      case Job::Kind::restart: {
        kernel_->kill();
        std::string error;
        ensure_kernel(error);
        job->on_json(std::nullopt, error);
        break;
      }
    }
    std::lock_guard lock(mu_);
    running_.reset();
  }
}

}  // namespace moccha::exec
