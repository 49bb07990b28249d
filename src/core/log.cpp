#include "core/log.h"

#include <cstdio>
#include <mutex>

#include "core/text.h"
#include "core/time_util.h"

namespace moccha::log {
namespace {

std::mutex mu;
std::FILE* out = nullptr;
std::string out_path;
std::size_t limit = 0, written = 0;  // `written`: the file's size, as far as we know

// Under mu: PATH becomes PATH.1 and a new PATH is started. On failure it carries on where it
// is, and tries again only after another `limit` bytes.
void rotate() {
  written = 0;
  std::string old = out_path + ".1";
  if (std::rename(out_path.c_str(), old.c_str()) != 0) return;
  if (std::FILE* f = std::fopen(out_path.c_str(), "a")) {
    std::fclose(out);
    out = f;
  }
}

}  // namespace

bool open(const std::string& path, std::size_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return false;
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  std::lock_guard lock(mu);
  if (out && out != stderr) std::fclose(out);
  out = f;
  out_path = path;
  limit = max_bytes;
  written = size > 0 ? static_cast<std::size_t>(size) : 0;
  return true;
}

void write(std::string_view level, std::string_view line) {
  // Escaped here, once, for every caller: a logged field can never forge a line.
  std::string text = fmt::format("{} {} {}\n", iso8601_utc_now_ms(), level, escape_control(line));
  std::lock_guard lock(mu);
  std::FILE* f = out ? out : stderr;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
  written += text.size();
  if (out && limit && written > limit) rotate();
}

}  // namespace moccha::log
