// State on disk under the data dir: atomic writes and the API key file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace moccha::store {

// Writes `content` to a temporary file beside `path`, fsyncs it, sets `mode`, and renames it
// over `path`: readers see the old file or the new one, never a half-written one.
// Throws std::system_error.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0644);

// Creates `dir` (and parents) with `mode` if missing. Throws std::system_error.
void ensure_dir(const std::filesystem::path& dir, unsigned mode = 0700);

// Keeps a log that a child appends to (opened O_APPEND) under `max_bytes`: past that, its
// content is copied to PATH.1 (replacing the previous one) and the file is emptied; the writer
// carries on at its new end. True if it was cut. Lines written during the copy may be lost.
bool cap_appended_log(const std::filesystem::path& path, std::uintmax_t max_bytes);

struct ApiKey {
  std::string key;
  bool generated = false;  // true when this call created it
  std::filesystem::path file;
};

// Reads data_dir/api_key, or creates it: 32 random bytes as hex, mode 0600.
ApiKey load_or_create_api_key(const std::filesystem::path& data_dir);

}  // namespace moccha::store
