#include "core/worker_pool.h"

#include <pthread.h>

#include "core/log.h"

namespace moccha {

WorkerPool::WorkerPool(std::string name, std::size_t threads) : name_(std::move(name)) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

WorkerPool::~WorkerPool() {
  join();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

Post WorkerPool::poster() {
  return [this](std::function<void()> task) { post(std::move(task)); };
}

void WorkerPool::join() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void WorkerPool::run(std::size_t index) {
  // Linux keeps 15 characters of a thread's name.
  std::string thread_name = (name_ + "-" + std::to_string(index + 1)).substr(0, 15);
  ::pthread_setname_np(::pthread_self(), thread_name.c_str());
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      log::error("{}: a task threw and was dropped: {}", thread_name, e.what());
    } catch (...) {
      log::error("{}: a task threw a non-exception and was dropped", thread_name);
    }
  }
}

}  // namespace moccha
