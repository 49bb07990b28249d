// One Python kernel child (kernel/moccha_kernel.py, embedded in the binary) and the framed
// JSON pipe pair to it. Blocking, and used by one thread only: the engine's worker.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace moccha::exec {

struct KernelOptions {
  std::string python = "python3";
  std::string cwd;       // the workspace
  std::string log_file;  // where the kernel's own start-up errors go
  std::chrono::milliseconds start_timeout{15000};
  std::size_t max_frame_bytes = 64u << 20;
};

class KernelProcess {
 public:
  explicit KernelProcess(KernelOptions options) : opt_(std::move(options)) {}
  ~KernelProcess() { kill(); }
  KernelProcess(const KernelProcess&) = delete;
  KernelProcess& operator=(const KernelProcess&) = delete;

  // Spawns the kernel and waits for its ready frame. False with `error` set on failure.
  bool start(std::string& error) { return spawn(error) && wait_ready(error); }
  // The two halves: spawn() returns at once; wait_ready() waits for the ready frame (at once
  // if the kernel has long been up: a warm spare).
  bool spawn(std::string& error);
  bool wait_ready(std::string& error);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Writes one frame. False if the kernel is gone.
  bool send(const nlohmann::json& frame);

  enum class Read { frame, timeout, dead };
  // Reads the next frame, waiting until `deadline`. `dead`: the kernel exited or broke the
  // protocol; `why` says which.
  Read read(nlohmann::json& frame, std::chrono::steady_clock::time_point deadline,
            std::string& why);

  void interrupt() const;  // SIGINT: KeyboardInterrupt in the running code
  void kill();             // SIGKILL to its process group, then reap
  // How it ended, once reaped: "exit code 1", "signal 11".
  std::string exit_description() const { return exit_; }

 private:
  bool reap(bool wait);

  KernelOptions opt_;
  pid_t pid_ = -1;
  std::string scope_;  // MOCCHA_SCOPE of this kernel and all it starts
  int to_kernel_ = -1;
  int from_kernel_ = -1;
  std::string buffer_;
  std::string exit_;
};

}  // namespace moccha::exec
