// A fixed set of named threads that run blocking work posted to them, in order of posting.
// Each kind of blocking work has a pool of its own (the app sizes and names them in one
// place), so a kind that can take minutes (a shell command, pip, an RPC to a stopped daemon)
// cannot starve another that must stay quick (SQLite, file listings).
//
// A task that throws is logged and dropped: nothing posted here can end the agent. Answering
// the request it served is the task's business (api/work.h does it).
// Thread-safe: post() from any thread. join() once, after the last post().
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace moccha {

// How components are handed a pool: they post work and know nothing else of it.
using Post = std::function<void(std::function<void()>)>;

class WorkerPool {
 public:
  // Starts `threads` threads named "NAME-1", "NAME-2", ... (as top and /proc show them).
  WorkerPool(std::string name, std::size_t threads);
  ~WorkerPool();  // joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);
  // A Post bound to this pool; it must not outlive the pool.
  Post poster();
  // Runs what is queued, then stops the threads. post() after join() is dropped.
  void join();

 private:
  void run(std::size_t index);

  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace moccha
