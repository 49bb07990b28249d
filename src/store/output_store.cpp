#include "store/output_store.h"

#include <algorithm>
#include <vector>

#include "store/files.h"

namespace moccha::store {
namespace fs = std::filesystem;

namespace {

bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

bool valid_stream(std::string_view s) {
  return s == "output" || s == "stdout" || s == "stderr";
}

}  // namespace

OutputStore::OutputStore(fs::path dir, OutputRetention keep) : dir_(std::move(dir)), keep_(keep) {
  ensure_dir(dir_, 0700);
}

fs::path OutputStore::path(const std::string& id, std::string_view stream) const {
  return dir_ / (id + "." + std::string(stream));
}

std::optional<fs::path> OutputStore::find(const std::string& id, std::string_view stream) const {
  if (!valid_id(id) || !valid_stream(stream)) return std::nullopt;
  fs::path p = path(id, stream);
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(p, ec))) return std::nullopt;
  return p;
}

void OutputStore::prune() {
  std::lock_guard lock(mu_);
  struct Entry {
    fs::file_time_type time;
    std::uint64_t size;
    fs::path path;
  };
  std::vector<Entry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    entries.push_back({it->last_write_time(e2), it->file_size(e2), it->path()});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.time > b.time; });  // newest first
  std::uint64_t bytes = 0;  // the newest is kept whatever its size
  for (std::size_t i = 0; i < entries.size(); ++i) {
    bytes += entries[i].size;
    if (i > 0 && (i >= keep_.count || bytes > keep_.bytes)) fs::remove(entries[i].path, ec);
  }
}

}  // namespace moccha::store
