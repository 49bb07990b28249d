// Watches a folder for .torrent files (inotify, not polling) and hands each one, once it is
// completely written, to a callback; files already there when watching starts are handed over
// too. The callback decides what becomes of the file (Deluge's service renames it .added or
// .invalid). One thread of its own; stop() (or the destructor) joins it.
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace moccha::deluge {

class WatchFolder {
 public:
  using Callback = std::function<void(const std::string& path)>;
  WatchFolder(std::string dir, Callback on_torrent);
  ~WatchFolder();
  WatchFolder(const WatchFolder&) = delete;
  WatchFolder& operator=(const WatchFolder&) = delete;

  // Starts watching. False (with `error`) if the folder cannot be watched.
  bool start(std::string& error);
  void stop();

 private:
  void loop();
  void deliver(const std::string& path);
  std::string dir_;
  Callback cb_;
  int inotify_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace moccha::deluge
