// An incremental multipart/form-data parser (RFC 7578): bytes in, parts out, never the whole
// body in memory. Pure: no I/O, so a fuzzer and unit tests drive it directly.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace moccha::files {

class MultipartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PartHeaders {
  std::string name;                     // Content-Disposition name
  std::optional<std::string> filename;  // present for file parts
  std::string content_type;
};

// The boundary parameter of a multipart/form-data Content-Type, if any.
std::optional<std::string> multipart_boundary(std::string_view content_type);

class MultipartParser {
 public:
  struct Callbacks {
    std::function<void(const PartHeaders&)> begin;
    std::function<void(const char*, std::size_t)> data;
    std::function<void()> end;
  };

  MultipartParser(std::string boundary, Callbacks callbacks);

  // Throws MultipartError on malformed input (and whatever the callbacks throw).
  void feed(const char* data, std::size_t size);
  // True once the closing delimiter has been seen.
  bool done() const { return state_ == State::epilogue; }

 private:
  enum class State { preamble, after_delimiter, headers, body, epilogue };
  void parse_headers(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  Callbacks cb_;
  State state_ = State::preamble;
  std::string buf_;
};

}  // namespace moccha::files
