#include "services/deluge/watch_folder.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace moccha::deluge {

namespace fs = std::filesystem;

namespace {

bool is_torrent(const std::string& name) {
  return name.size() > 8 && name.compare(name.size() - 8, 8, ".torrent") == 0 &&
         name.front() != '.';
}

}  // namespace

WatchFolder::WatchFolder(std::string dir, Callback on_torrent)
    : dir_(std::move(dir)), cb_(std::move(on_torrent)) {}

WatchFolder::~WatchFolder() {
  stop();
}

bool WatchFolder::start(std::string& error) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_ < 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    error = std::string("inotify: ") + std::strerror(errno);
    return false;
  }
  // A file is ready when its writer closes it, or when it is moved in whole.
  if (::inotify_add_watch(inotify_, dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    error = "cannot watch " + dir_ + ": " + std::strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { loop(); });
  return true;
}

void WatchFolder::stop() {
  if (thread_.joinable()) {
    char c = 'x';
    if (::write(stop_pipe_[1], &c, 1) < 0) {
    }
    thread_.join();
  }
  for (int* fd : {&inotify_, &stop_pipe_[0], &stop_pipe_[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void WatchFolder::deliver(const std::string& path) {
  try {
    cb_(path);
  } catch (const std::exception& e) {  // one bad file must not end the watch (or the agent)
    log::error("watch folder {}: {}: {}", dir_, path, e.what());
  }
}

void WatchFolder::loop() {
  // What was dropped while nobody watched.
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && is_torrent(it->path().filename().string()))
      deliver(it->path().string());
  alignas(inotify_event) char buf[16384];
  while (true) {
    pollfd fds[2] = {{inotify_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    ssize_t n = ::read(inotify_, buf, sizeof buf);
    for (ssize_t off = 0; n > 0 && off < n;) {
      auto* ev = reinterpret_cast<inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->len == 0) continue;
      std::string name(ev->name);
      if (is_torrent(name)) deliver((fs::path(dir_) / name).string());
    }
  }
}

}  // namespace moccha::deluge
