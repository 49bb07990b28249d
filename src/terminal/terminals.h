// Terminals: login shells on pseudo-terminals that outlive whoever watches them, like a tmux
// session. Each has a bounded scrollback that a new viewer gets first, then the live output;
// any number of viewers may watch one. A terminal ends when its shell exits, when it is
// removed, when nobody has watched or typed for the idle timeout, or with the agent; ending
// hangs up its session and ends its process scope (everything started in it). Knows nothing
// of HTTP: api/terminals_api.cpp joins a viewer to a WebSocket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace moccha::terminal {

struct Options {
  std::string shell;  // empty: the user's login shell
  std::string cwd;    // where shells start (the workspace)
  std::size_t scrollback_bytes = 512u << 10;
  std::chrono::seconds idle_timeout{3600};  // 0: never culled
  std::size_t max_terminals = 16;
};

// A refusal: too many terminals open, or a shell that could not start.
class TerminalError : public std::runtime_error {
 public:
  enum class Kind { too_many, no_shell };
  TerminalError(Kind kind, const std::string& what) : std::runtime_error(what), kind(kind) {}
  Kind kind;
};

struct Info {
  std::string id;
  pid_t pid = 0;
  std::int64_t created = 0;      // unix seconds
  std::int64_t last_active = 0;  // the last input or output, unix seconds
  int cols = 0, rows = 0;
  int viewers = 0;
  std::string shell;
};

// What a terminal calls on one viewer, on the terminals' own thread (keep it short: queue).
struct Viewer {
  std::function<void(std::string bytes)> output;
  std::function<void(std::string how)> ended;  // "exit code 0", "removed", "idle", ...
};

class Terminals {
 public:
  explicit Terminals(Options options);
  ~Terminals();  // ends every terminal
  Terminals(const Terminals&) = delete;
  Terminals& operator=(const Terminals&) = delete;

  Info create(int cols, int rows);  // throws TerminalError
  std::vector<Info> list() const;
  std::optional<Info> find(const std::string& id) const;
  // Ends it (hang-up, then its whole scope); false if there is no such terminal.
  bool remove(const std::string& id);

  // A viewer's hold on a terminal: what it types and its window size. Dropping it detaches.
  class Attachment {
   public:
    virtual ~Attachment() = default;
    virtual void input(std::string bytes) = 0;
    virtual void resize(int cols, int rows) = 0;
  };
  // Joins `viewer` to terminal `id`: it gets the scrollback, then what follows. nullptr if
  // there is no such terminal.
  std::shared_ptr<Attachment> attach(const std::string& id, Viewer viewer);

  std::size_t count() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Keeps the last `limit` bytes of a stream (trimming in steps, not on every append).
class Scrollback {
 public:
  explicit Scrollback(std::size_t limit) : limit_(limit) {}
  void append(std::string_view bytes);
  std::string_view text() const;  // the last `limit` bytes

 private:
  std::size_t limit_;
  std::string text_;
};

}  // namespace moccha::terminal
