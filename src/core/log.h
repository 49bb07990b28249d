// The agent's log: one file (default /tmp/moccha.log), one line per event, UTC timestamps.
// Thread-safe: any thread may log. Lines are written whole. Access lines (level "access",
// one per request) are flushed in batches within 100 ms; every other line is flushed at once,
// with the access lines before it, so `tail -f` sees everything within 100 ms and a crash loses
// at most the last 100 ms of access lines, never an error. Never log the API key.
#pragma once

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace moccha::log {

// Opens (appends to) `path`. Before this, and if it fails, lines go to stderr. Past
// `max_bytes` (0: no limit) the file is renamed PATH.1 (replacing the last one) and a new one
// started, so a long-running agent keeps at most twice that. Returns false if the file could
// not be opened.
bool open(const std::string& path, std::size_t max_bytes = 0);

void write(std::string_view level, std::string_view line);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write("info", fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write("warn", fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write("error", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace moccha::log
