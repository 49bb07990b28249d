// File operations behind the file endpoints. Blocking. Paths are ones PathPolicy::resolve()
// returned, and every operation reaches them through PathPolicy::open*(): descriptors opened
// without following a symlink, so a path switched under us after the check fails instead of
// leading out of the roots. Failures throw files::Error (DiskFull for a full disk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "files/paths.h"

namespace moccha::files {

struct Entry {
  std::string name;  // the bytes the file system holds (not necessarily UTF-8)
  std::string type;  // file | dir | link | other
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;  // seconds since the epoch
};

// In directory order; the caller sorts.
std::vector<Entry> list_dir(const PathPolicy& policy, const std::filesystem::path& dir);

void remove_path(const PathPolicy& policy, const std::filesystem::path& p, bool recursive);
// Creates `p` (Error exists if it is there), and its missing parents when `parents`.
void make_dir(const PathPolicy& policy, const std::filesystem::path& p, bool parents);
// Creates `dir` and whatever of its parents is missing; a directory already there is fine,
// a file in the way is Error exists.
void make_dirs(const PathPolicy& policy, const std::filesystem::path& dir);
void move_path(const PathPolicy& policy, const std::filesystem::path& from,
               const std::filesystem::path& to, bool overwrite);

// Writes a file under a temporary name and renames it into place only when whole, so an
// interrupted write never leaves a partial file under the final name. Temporary files live in
// `temp_dir` when it is on the destination's filesystem (the agent sweeps it at start), else
// beside the destination as ".moccha-upload-*". The destination's directory is opened once,
// race-free, at construction, and the rename goes into that descriptor.
//
// commit() puts the file in place and keeps what it replaced until finalize() (which drops
// it) or rollback() (which puts it back): several writers can be committed as one.
class AtomicWriter {
 public:
  AtomicWriter(const PathPolicy& policy, const std::filesystem::path& final_path,
               const std::filesystem::path& temp_dir, bool overwrite);
  ~AtomicWriter();  // rolls back if committed and not finalized; else aborts
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  void write(const char* data, std::size_t size);
  // Done writing: the data is flushed and the descriptor closed (throws on a write error).
  void close();
  // Renames into place; throws Error(exists) when overwrite is off and the name was taken, or
  // when a directory has the name.
  std::uint64_t commit();
  void finalize();
  void rollback();
  void abort();
  const std::filesystem::path& final_path() const { return final_; }
  std::uint64_t size() const { return size_; }

 private:
  std::filesystem::path final_;
  std::string name_, temp_name_;
  UniqueFd dir_, temp_dir_;  // the destination's directory; where the temporary file is
  bool overwrite_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  enum class State { writing, closed, committed, replaced, done } state_ = State::writing;
};

// Commits every writer or none: on a failure, those already committed are rolled back and
// the error is rethrown.
void commit_all(std::vector<std::unique_ptr<AtomicWriter>>& writers);

// Deletes leftovers of interrupted uploads in `temp_dir`.
void sweep_temp_dir(const std::filesystem::path& temp_dir);

}  // namespace moccha::files
