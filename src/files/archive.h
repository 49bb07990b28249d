// A directory as an archive (tar, tar.gz or zip, written by libarchive), produced piece by piece
// so a directory of any size streams in constant memory. Symlinks are stored as links, never
// followed. Blocking reads: call from a thread that may block on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "files/beneath.h"

struct archive;

namespace moccha::files {

enum class ArchiveFormat { tar, tar_gz, zip };

// "tar", "tar.gz" (or "tgz") and "zip"; nullopt for anything else.
std::optional<ArchiveFormat> parse_archive_format(const std::string& name);
// The file name extension (".tar", ".tar.gz", ".zip") and the media type of each.
const char* archive_extension(ArchiveFormat f);
const char* archive_media_type(ArchiveFormat f);

class ArchiveStream {
 public:
  // Walks the directory `root` (opened race-free by the caller; `dir` is its path, for the
  // archive's top name) now, names and sizes, through descriptors; file contents are read as
  // the archive is produced, each opened beneath `root` with no symlink followed.
  ArchiveStream(const std::filesystem::path& dir, UniqueFd root, ArchiveFormat format);
  ~ArchiveStream();
  ArchiveStream(const ArchiveStream&) = delete;
  ArchiveStream& operator=(const ArchiveStream&) = delete;

  // At least `max` more bytes of the archive (less at its end); nullopt at the end.
  // Throws std::runtime_error when libarchive fails.
  std::optional<std::string> next(std::size_t max);

 private:
  struct Item {
    std::string path;  // under the root
    std::string name;  // inside the archive
    enum class Type { file, dir, symlink } type;
    std::uint64_t size;
    std::int64_t mtime;
    unsigned mode;
    std::string link;
  };
  void walk(int dirfd, const std::string& rel, const std::string& name);
  void begin(const Item& item);  // its header, and its file opened
  void copy();                   // the current file's next piece
  [[noreturn]] void fail(const char* what);
  static long collect(archive*, void* self, const void* data, std::size_t n);

  UniqueFd root_;
  std::vector<Item> items_;
  std::size_t index_ = 0;
  archive* writer_ = nullptr;
  std::string out_;  // what libarchive wrote, waiting to go out
  int fd_ = -1;      // the file being copied
  std::uint64_t left_ = 0;
  bool closed_ = false;  // the archive's end is written
};

}  // namespace moccha::files
