#include "core/log.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "core/time_util.h"

namespace moccha::log {
namespace {

std::mutex mu;
std::FILE* out = nullptr;
std::string out_path;
std::size_t limit = 0, written = 0;  // `written`: the file's size, as far as we know
bool dirty = false;                  // access lines written to `out` but not yet flushed
bool stopped = false;                // the flusher is gone (static destruction): flush every line
constexpr auto kFlushEvery = std::chrono::milliseconds(100);

// Flushes buffered access lines within kFlushEvery. Started with the first buffered line;
// stopped (and the rest flushed) at exit.
class Flusher {
 public:
  // Under mu. False once stopped (at exit): the caller flushes itself.
  bool wake() {
    if (stopped) return false;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    return true;
  }
  ~Flusher() {
    {
      std::lock_guard lock(mu);
      stopped = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mu);
    while (!stopped) {
      cv_.wait_for(lock, kFlushEvery, [] { return stopped; });
      if (dirty && out) std::fflush(out);
      dirty = false;
    }
  }
  std::condition_variable cv_;
  std::thread thread_;
};
Flusher flusher;  // after `mu` and `out`: destroyed before them

// Under mu: PATH becomes PATH.1 and a new PATH is started. On failure it carries on where it
// is, and tries again only after another `limit` bytes.
void rotate() {
  written = 0;
  std::string old = out_path + ".1";
  if (std::rename(out_path.c_str(), old.c_str()) != 0) return;
  if (std::FILE* f = std::fopen(out_path.c_str(), "a")) {
    std::fclose(out);
    out = f;
  }
}

}  // namespace

bool open(const std::string& path, std::size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return false;
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  std::lock_guard lock(mu);
  if (out && out != stderr) std::fclose(out);
  out = f;
  out_path = path;
  limit = max_bytes;
  written = size > 0 ? static_cast<std::size_t>(size) : 0;
  return true;
}

void write(std::string_view level, std::string_view line) {
  // Escaped here, once, for every caller: a logged field can never forge a line.
  std::string text = iso8601_utc_now_ms();
  text += ' ';
  text += level;
  text += ' ';
  text += escape_control(line);
  text += '\n';
  std::lock_guard lock(mu);
  std::FILE* f = out ? out : stderr;
  std::fwrite(text.data(), 1, text.size(), f);
  if (level == "access" && f != stderr && flusher.wake()) {
    // Access lines, one per request, go out in a batch within 100 ms: a write(2) per request
    // cost a fifth of a small file's round trip. Every other line is written through at once,
    // with whatever was waiting before it.
    dirty = true;
  } else {
    std::fflush(f);
    dirty = false;
  }
  written += text.size();
  if (out && limit && written > limit) rotate();
}

}  // namespace moccha::log
