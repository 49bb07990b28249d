// The output of a command or a cell, as a reply carries it: the first `cap` bytes in memory.
// Given a spill file, an output that runs past the cap is written there whole (the bytes kept
// in memory first, then the rest) up to `spill_limit` bytes, so it can be read in full later
// without the agent holding it. Memory stays at `cap` whatever the output's size, and is cut
// between UTF-8 characters.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace moccha {

class CappedOutput {
 public:
  explicit CappedOutput(std::size_t cap, std::filesystem::path spill = {},
                        std::uint64_t spill_limit = 0);
  ~CappedOutput();
  CappedOutput(const CappedOutput&) = delete;
  CappedOutput& operator=(const CappedOutput&) = delete;

  // Appends `data`. Returns the part of it kept in memory (a prefix, possibly empty).
  std::string_view append(std::string_view data);
  // Closes the spill file; later appends are only counted.
  void close();

  // The bytes kept in memory; take() moves them out (the counts below stay as they were).
  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }
  std::uint64_t total() const { return total_; }     // bytes seen
  bool truncated() const { return total_ > kept_; }  // memory holds a prefix only
  // The spill file holds more than memory does (what it holds: spill_bytes()).
  bool spilled() const { return spilled_ > kept_; }
  std::uint64_t spill_bytes() const { return spilled_; }
  const std::string& spill_error() const { return error_; }  // why spilling stopped, if it did

 private:
  void write(std::string_view data);

  std::size_t cap_;
  std::filesystem::path path_;
  std::uint64_t limit_;
  std::string text_;
  std::uint64_t total_ = 0, spilled_ = 0, kept_ = 0;
  int fd_ = -1;
  bool failed_ = false;
  bool full_ = false;  // memory was cut: nothing more is kept there
  std::string error_;
};

}  // namespace moccha
