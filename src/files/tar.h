// A directory as a tar archive (POSIX ustar, GNU long names), produced piece by piece so a
// directory of any size streams in constant memory. Symlinks are stored as links, never
// followed. Blocking reads: call from a thread that may block on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "files/beneath.h"

namespace moccha::files {

class TarStream {
 public:
  // Walks the directory `root` (opened race-free by the caller; `dir` is its path, for the
  // archive's top name) now, names and sizes, through descriptors; file contents are read as
  // the archive is produced, each opened beneath `root` with no symlink followed.
  TarStream(const std::filesystem::path& dir, UniqueFd root);
  ~TarStream();
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  // Up to `max` more bytes of the archive; nullopt at the end.
  std::optional<std::string> next(std::size_t max);

 private:
  struct Item {
    std::string path;  // under the root
    std::string name;  // inside the archive
    char type;         // '0' file, '5' dir, '2' symlink
    std::uint64_t size;
    std::int64_t mtime;
    unsigned mode;
    std::string link;
  };
  std::string header(const Item& item);
  void walk(int dirfd, const std::string& rel, const std::string& name);

  UniqueFd root_;
  std::vector<Item> items_;
  std::size_t index_ = 0;
  std::string pending_;  // header/padding bytes waiting to go out
  int fd_ = -1;          // the file being copied
  std::uint64_t left_ = 0;
  std::uint64_t padding_ = 0;
  bool finished_ = false;
};

}  // namespace moccha::files
