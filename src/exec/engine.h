// The execution engine: one persistent Python kernel, one FIFO queue of work shared by
// /execute and /async-execute (so callers never interleave), async tasks, and history.
//
// Threading: one worker thread owns the kernel and runs the queue; every public method may be
// called from any thread and returns at once. Callbacks run on the worker thread: they must be
// quick (post the answer elsewhere). The engine outlives nothing it is given: `db` must outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exec/kernel_process.h"

namespace moccha::store {
class Database;
class OutputStore;
}  // namespace moccha::store

namespace moccha::exec {

struct ExecResult {
  bool success = false;
  std::string output;  // stdout and stderr interleaved, as a notebook cell shows them
  std::string error;   // the traceback, or why the execution did not run
  nlohmann::json variables = nlohmann::json::object();  // names created or rebound
  nlohmann::json result;                                // repr of the last expression
  bool truncated = false;
  std::uint64_t output_bytes = 0;  // what the cell wrote in all
  bool spilled = false;            // kept whole in EngineOptions::outputs, under the run's id
  bool kernel_restarted = false;   // the namespace was lost
  bool timed_out = false;
  double duration_s = 0;
};

struct EngineOptions {
  KernelOptions kernel;
  std::size_t output_limit = 16u << 20;             // per execution, in memory and in the reply
  store::OutputStore* outputs = nullptr;            // where an output past the limit is kept whole
  std::chrono::milliseconds interrupt_grace{3000};  // after SIGINT, before SIGKILL
  // Keep a second kernel started in the background, so a restart (asked for, or after a
  // crash or a timeout) swaps it in instead of waiting for Python to start.
  bool warm_spare = true;
  std::size_t tasks_in_memory = 1000;  // older finished tasks stay in the db
  // Called with the final task JSON when an async task ends (done, error or cancelled), on the
  // engine's thread or the canceller's: the agent publishes task.finished from it.
  std::function<void(const nlohmann::json& task)> on_task_end;
};

class Engine {
 public:
  Engine(EngineOptions options, store::Database* db);
  ~Engine();  // stops the worker and kills the kernel
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the worker, which starts the kernel at once so the first call does not wait.
  void start();

  // Runs `code` when its turn comes; `done` gets the result and the run's history id (the id
  // its spilled output is kept under).
  using Done = std::function<void(ExecResult, const std::string& id)>;
  void execute(std::string code, std::optional<double> timeout_s, Done done);

  // Queues an async task; returns its id.
  std::string submit(std::string code, std::optional<double> timeout_s);
  // A task as GET /task/{id} shows it; reads the db for tasks no longer in memory (blocking).
  std::optional<nlohmann::json> task(const std::string& id);
  std::vector<nlohmann::json> tasks(int limit);

  enum class Cancel { unknown, cancelled, interrupting, finished };
  Cancel cancel(const std::string& id);

  // Output of a task as it is produced: `on_output` gets what was written so far at once, then
  // each new piece; `on_end` gets the final task JSON. Returns false for an unknown or
  // finished task (the caller then reads task()). Returns a handle for unsubscribe().
  using Subscription = std::uint64_t;
  std::optional<Subscription> subscribe(const std::string& id,
                                        std::function<void(const std::string&)> on_output,
                                        std::function<void(const nlohmann::json&)> on_end);
  void unsubscribe(const std::string& id, Subscription s);

  void variables(std::function<void(std::optional<nlohmann::json>, std::string)> done);
  void delete_variable(std::string name, std::function<void(bool found, std::string)> done);
  // Kills and restarts the kernel after the work ahead of it in the queue.
  void restart(std::function<void(std::string error)> done);
  // Interrupts the running execution, if any. False when nothing runs.
  bool interrupt();
  // The warm spare may not see what changed since it started (pip installed a package whose
  // path did not exist yet): the next restart starts a kernel afresh. Any thread.
  void invalidate_spare();

  long long executions() const { return executions_; }
  // Work waiting its turn (executions, tasks, variable reads), and whether one runs now.
  std::size_t queue_depth() const;
  bool busy() const;
  long long variable_count() const { return variable_count_; }
  pid_t kernel_pid() const { return kernel_pid_; }

 private:
  struct Task;
  struct Job;

  void worker();
  void enqueue(std::shared_ptr<Job> job);
  bool ensure_kernel(std::string& error);
  ExecResult run_execute(Job& job);
  bool simple_request(const nlohmann::json& req, nlohmann::json& reply, std::string& error);
  void restart_kernel(ExecResult& r, const std::string& why);
  void finish_task(Task& t, const ExecResult& r);
  nlohmann::json task_json(const Task& t) const;  // under mu_
  void record(const std::string& id, const std::string& type, const std::string& input,
              bool success, double seconds, const std::string& time);

  EngineOptions opt_;
  store::Database* db_;
  std::unique_ptr<KernelProcess> kernel_;
  std::unique_ptr<KernelProcess> spare_;  // started, never given work: the next kernel
  std::atomic<bool> spare_stale_{false};
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Task>> tasks_;
  std::deque<std::string> task_order_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  std::uint64_t next_subscription_ = 0;

  std::atomic<bool> interrupt_requested_{false};
  std::atomic<bool> halt_{false};  // the engine is being destroyed: abandon the running job
  std::atomic<long long> executions_{0};
  std::atomic<long long> variable_count_{0};
  std::atomic<pid_t> kernel_pid_{-1};
};

// A short random id ("3f9c2a7b1e0d4c56").
std::string random_id();

}  // namespace moccha::exec
