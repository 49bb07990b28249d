// A directory as a tar archive (POSIX ustar, GNU long names), produced piece by piece so a
// directory of any size streams in constant memory. Symlinks are stored as links, never
// followed. Blocking reads: call from a thread that may block on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace moccha::files {

class TarStream {
 public:
  // Walks `dir` now (names and sizes); file contents are read as the archive is produced.
  explicit TarStream(const std::filesystem::path& dir);
  ~TarStream();
  TarStream(const TarStream&) = delete;
  TarStream& operator=(const TarStream&) = delete;

  // Up to `max` more bytes of the archive; nullopt at the end.
  std::optional<std::string> next(std::size_t max);

 private:
  struct Item {
    std::filesystem::path path;
    std::string name;  // inside the archive
    char type;         // '0' file, '5' dir, '2' symlink
    std::uint64_t size;
    std::int64_t mtime;
    unsigned mode;
    std::string link;
  };
  std::string header(const Item& item);

  std::vector<Item> items_;
  std::size_t index_ = 0;
  std::string pending_;  // header/padding bytes waiting to go out
  int fd_ = -1;          // the file being copied
  std::uint64_t left_ = 0;
  std::uint64_t padding_ = 0;
  bool finished_ = false;
};

}  // namespace moccha::files
