#include "terminal/terminals.h"

#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>

#include "core/hex.h"
#include "core/log.h"
#include "system/process.h"
#include "system/pty.h"

namespace moccha::terminal {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;

void Scrollback::append(std::string_view bytes) {
  text_.append(bytes);
  // Trim once a quarter over the limit: appends stay amortised O(size of the append).
  if (text_.size() > limit_ + limit_ / 4) text_.erase(0, text_.size() - limit_);
}

std::string_view Scrollback::text() const {
  std::string_view all = text_;
  return all.size() > limit_ ? all.substr(all.size() - limit_) : all;
}

namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One shell on its pty. Guarded by Impl::mu, except `master`, `input` and `writing`, which
// only the terminals' thread touches.
struct Terminal {
  Terminal(asio::io_context& ioc, sys::PtyChild child, std::size_t scrollback)
      : master(ioc, child.master), pid(child.pid), scroll(scrollback) {}
  asio::posix::stream_descriptor master;
  std::array<char, 64 * 1024> buf;
  std::deque<std::string> input;
  bool writing = false;

  std::string id, scope, shell;
  pid_t pid;
  Scrollback scroll;
  int cols = 80, rows = 24;
  std::int64_t created = unix_now(), last_active_unix = created;
  Steady::time_point last_active = Steady::now();
  std::map<std::uint64_t, Viewer> viewers;
  bool ended = false;

  Info info() const {
    return {id,   pid, created, last_active_unix, cols, rows, static_cast<int>(viewers.size()),
            shell};
  }
  void touch() {
    last_active = Steady::now();
    last_active_unix = unix_now();
  }
};

}  // namespace

struct Terminals::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(Options o) : opt(std::move(o)), tick(ioc) {}

  Options opt;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  asio::steady_timer tick;
  std::thread thread;
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<Terminal>> terms;
  std::uint64_t next_viewer = 0;

  class Attached;

  void read(std::shared_ptr<Terminal> t) {
    t->master.async_read_some(asio::buffer(t->buf),
                              [this, t](boost::system::error_code ec, std::size_t n) {
                                if (n > 0) {
                                  std::lock_guard lock(mu);
                                  std::string_view bytes(t->buf.data(), n);
                                  t->scroll.append(bytes);
                                  t->touch();
                                  for (auto& [id, v] : t->viewers) v.output(std::string(bytes));
                                }
                                // EIO: every holder of the terminal's side closed it. The tick
                                // reaps the shell.
                                if (!ec) read(t);
                              });
  }

  void write_next(const std::shared_ptr<Terminal>& t) {
    if (t->writing || t->input.empty()) return;
    t->writing = true;
    asio::async_write(t->master, asio::buffer(t->input.front()),
                      [this, t](boost::system::error_code ec, std::size_t) {
                        t->writing = false;
                        if (ec) return t->input.clear();
                        t->input.pop_front();
                        write_next(t);
                      });
  }

  // Once a second: shells that exited, and terminals idle past the timeout.
  void on_tick() {
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      std::vector<std::pair<std::shared_ptr<Terminal>, std::string>> ending;
      {
        std::lock_guard lock(mu);
        auto now = Steady::now();
        for (auto it = terms.begin(); it != terms.end();) {
          auto& t = it->second;
          int status = 0;
          std::string how;
          if (::waitpid(t->pid, &status, WNOHANG) == t->pid) {
            t->pid = 0;  // reaped
            how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                    : "signal " + std::to_string(WTERMSIG(status));
          } else if (opt.idle_timeout.count() > 0 && t->viewers.empty() &&
                     now - t->last_active > opt.idle_timeout) {
            how = "idle";
          }
          if (how.empty()) {
            ++it;
            continue;
          }
          ending.emplace_back(t, how);
          it = terms.erase(it);
        }
      }
      for (auto& [t, how] : ending) end(t, how);
      on_tick();
    });
  }

  // `t` is out of the map: tell its viewers, hang up its session, end its scope, reap it, and
  // close the pty on the terminals' thread.
  void end(const std::shared_ptr<Terminal>& t, const std::string& how) {
    std::map<std::uint64_t, Viewer> viewers;
    pid_t pid;
    {
      std::lock_guard lock(mu);
      t->ended = true;
      viewers.swap(t->viewers);
      pid = t->pid;
    }
    log::info("terminal {} ended ({})", t->id, how);
    for (auto& [id, v] : viewers) v.ended(how);
    if (pid > 0) {
      ::kill(-pid, SIGHUP);
      sys::end_scope(t->scope, pid);
      ::waitpid(pid, nullptr, 0);
    } else {
      sys::end_scope(t->scope);  // what the shell left running
    }
    asio::post(ioc, [t] {
      boost::system::error_code ec;
      t->master.close(ec);
    });
  }
};

class Terminals::Impl::Attached : public Terminals::Attachment {
 public:
  Attached(std::weak_ptr<Impl> impl, std::shared_ptr<Terminal> t, std::uint64_t viewer)
      : impl_(std::move(impl)), t_(std::move(t)), viewer_(viewer) {}
  ~Attached() override {
    auto impl = impl_.lock();
    if (!impl) return;
    std::lock_guard lock(impl->mu);
    t_->viewers.erase(viewer_);
    t_->touch();  // idleness counts from the last viewer leaving
  }
  void input(std::string bytes) override {
    auto impl = impl_.lock();
    if (!impl || bytes.empty()) return;
    // A raw pointer: the handler runs only while the thread, and so the Impl, lives (a
    // shared_ptr in its own queue would keep it alive forever).
    asio::post(impl->ioc, [impl = impl.get(), t = t_, bytes = std::move(bytes)]() mutable {
      if (t->ended) return;
      t->input.push_back(std::move(bytes));
      impl->write_next(t);
    });
  }
  void resize(int cols, int rows) override {
    auto impl = impl_.lock();
    if (!impl) return;
    std::lock_guard lock(impl->mu);
    if (t_->ended || (cols == t_->cols && rows == t_->rows)) return;
    t_->cols = cols;
    t_->rows = rows;
    sys::resize_pty(t_->master.native_handle(), cols, rows);
  }

 private:
  std::weak_ptr<Impl> impl_;
  std::shared_ptr<Terminal> t_;
  std::uint64_t viewer_;
};

Terminals::Terminals(Options options) : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->on_tick();
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

Terminals::~Terminals() {
  std::map<std::string, std::shared_ptr<Terminal>> all;
  {
    std::lock_guard lock(impl_->mu);
    all.swap(impl_->terms);
  }
  for (auto& [id, t] : all) impl_->end(t, "the agent is stopping");
  // The timer is the terminals' thread's: cancelled there, then the thread runs out of work.
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->tick.cancel(); });
  impl_->work.reset();
  impl_->thread.join();
}

Info Terminals::create(int cols, int rows) {
  const Options& opt = impl_->opt;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->terms.size() >= opt.max_terminals)
      throw TerminalError(TerminalError::Kind::too_many,
                          "already " + std::to_string(opt.max_terminals) +
                              " terminals open (terminal.max_terminals); end one first");
  }
  std::string shell = opt.shell.empty() ? sys::login_shell() : opt.shell;
  std::string scope = sys::new_scope();
  std::string name = shell.substr(shell.rfind('/') + 1);
  sys::PtyChild child;
  try {
    child = sys::spawn_on_pty(
        {shell}, "-" + name, opt.cwd,
        {{"TERM", "xterm-256color"}, {"COLORTERM", "truecolor"}, {sys::kScopeVariable, scope}},
        cols, rows);
  } catch (const std::exception& e) {
    throw TerminalError(TerminalError::Kind::no_shell,
                        std::string("could not start a shell: ") + e.what());
  }
  auto t = std::make_shared<Terminal>(impl_->ioc, child, opt.scrollback_bytes);
  t->id = random_hex(8);
  t->scope = scope;
  t->shell = shell;
  t->cols = cols;
  t->rows = rows;
  Info info;
  {
    std::lock_guard lock(impl_->mu);
    impl_->terms[t->id] = t;
    info = t->info();
  }
  asio::post(impl_->ioc, [impl = impl_.get(), t] { impl->read(t); });
  log::info("terminal {} started: {} (pid {})", t->id, shell, t->pid);
  return info;
}

std::vector<Info> Terminals::list() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Info> out;
  for (const auto& [id, t] : impl_->terms) out.push_back(t->info());
  return out;
}

std::optional<Info> Terminals::find(const std::string& id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->terms.find(id);
  if (it == impl_->terms.end()) return std::nullopt;
  return it->second->info();
}

std::size_t Terminals::count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->terms.size();
}

bool Terminals::remove(const std::string& id) {
  std::shared_ptr<Terminal> t;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->terms.find(id);
    if (it == impl_->terms.end()) return false;
    t = it->second;
    impl_->terms.erase(it);
  }
  impl_->end(t, "removed");
  return true;
}

std::shared_ptr<Terminals::Attachment> Terminals::attach(const std::string& id, Viewer viewer) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->terms.find(id);
  if (it == impl_->terms.end()) return nullptr;
  auto& t = it->second;
  std::uint64_t vid = ++impl_->next_viewer;
  if (!t->scroll.text().empty()) viewer.output(std::string(t->scroll.text()));
  t->viewers.emplace(vid, std::move(viewer));
  return std::make_shared<Impl::Attached>(impl_, t, vid);
}

}  // namespace moccha::terminal
