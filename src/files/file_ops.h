// File operations behind the file endpoints. Blocking; paths are already resolved by
// PathPolicy. Failures throw files::Error.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "files/paths.h"

namespace moccha::files {

struct Entry {
  std::string name;
  std::string type;  // file | dir | link | other
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;  // seconds since the epoch
};

// Directories first, then by name (bytewise).
std::vector<Entry> list_dir(const std::filesystem::path& dir);

void remove_path(const std::filesystem::path& p, bool recursive);
void make_dir(const std::filesystem::path& p, bool parents);
void move_path(const std::filesystem::path& from, const std::filesystem::path& to, bool overwrite);

// Writes a file under a temporary name and renames it into place only when whole, so an
// interrupted write never leaves a partial file under the final name. Temporary files live in
// `temp_dir` when it is on the destination's filesystem (the agent sweeps it at start), else
// beside the destination as ".moccha-upload-*".
class AtomicWriter {
 public:
  AtomicWriter(const std::filesystem::path& final_path, const std::filesystem::path& temp_dir,
               bool overwrite);
  ~AtomicWriter();  // aborts if not committed
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  void write(const char* data, std::size_t size);
  // Renames into place; throws Error(exists) when overwrite is off and the name was taken.
  std::uint64_t commit();
  void abort();
  const std::filesystem::path& final_path() const { return final_; }
  std::uint64_t size() const { return size_; }

 private:
  std::filesystem::path final_, temp_;
  bool overwrite_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Deletes leftovers of interrupted uploads in `temp_dir`.
void sweep_temp_dir(const std::filesystem::path& temp_dir);

struct FileInfo {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool is_dir = false;
};
FileInfo stat_path(const std::filesystem::path& p);

}  // namespace moccha::files
