#include "core/log.h"

#include <cstdio>
#include <mutex>

#include "core/time_util.h"

namespace moccha::log {
namespace {

std::mutex mu;
std::FILE* out = nullptr;

}  // namespace

bool open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) return false;
  std::lock_guard lock(mu);
  if (out && out != stderr) std::fclose(out);
  out = f;
  return true;
}

void write(std::string_view level, std::string_view line) {
  std::string text = fmt::format("{} {} {}\n", iso8601_utc_now_ms(), level, line);
  std::lock_guard lock(mu);
  std::FILE* f = out ? out : stderr;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

}  // namespace moccha::log
