// Outputs that ran past a reply's cap, kept whole on disk: DATA_DIR/output/ID.STREAM, where ID
// is the history id of the /execute, /shell or async task that wrote it and STREAM is
// "output" (a cell), "stdout" or "stderr" (a shell command). The newest are kept, bounded in
// count and in bytes; older ones are removed as new ones come, as the database's tasks are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace moccha::store {

struct OutputRetention {
  std::uint64_t spill_limit = 1ull << 30;  // per output; 0: nothing is spilled
  std::size_t count = 1000;                // spill files kept
  std::uint64_t bytes = 4ull << 30;        // all of them together
};

class OutputStore {
 public:
  // Creates `dir` (0700). Throws std::system_error.
  OutputStore(std::filesystem::path dir, OutputRetention keep);

  std::uint64_t spill_limit() const { return keep_.spill_limit; }
  // Where the output `stream` of `id` is spilled to (nothing is created).
  std::filesystem::path path(const std::string& id, std::string_view stream) const;
  // The spill file of `id` and `stream` if one is kept. An id or stream that is not one of
  // ours (path characters, unknown stream) is simply not found.
  std::optional<std::filesystem::path> find(const std::string& id, std::string_view stream) const;
  // Removes the oldest files past the bounds. Call after a spill is complete.
  void prune();

 private:
  std::filesystem::path dir_;
  OutputRetention keep_;
  std::mutex mu_;
};

}  // namespace moccha::store
