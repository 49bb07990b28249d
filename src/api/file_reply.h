// The reply that sends an open regular file: validators (ETag, Last-Modified) and 304 for a
// matching conditional request, one byte range (206, or 416 with the size), the content type
// and an attachment name; a small file is read into the body (one write with the header), a
// large one goes out by sendfile. Used by /download and by GET /task/{id}/output.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "files/beneath.h"
#include "http/request.h"

namespace moccha::api {

// Up to this size a file is read into the reply's body; past it, sendfile.
inline constexpr std::uint64_t kSmallFileBytes = 64u << 10;

struct FileReply {
  files::UniqueFd fd;
  struct stat st {};
  std::string content_type = "application/octet-stream";
  std::string attachment_name;  // Content-Disposition: attachment; filename=...
  std::string shown;            // the name errors give
  // The file's bytes when they were read already (a /proc file whose size says 0).
  std::optional<std::string> content;
  // Reads may not block (RWF_NOWAIT): the reply is nullopt when a read would.
  bool nowait = false;
};

std::optional<http::ApiResponse> file_reply(const http::ApiRequest& req, FileReply file);

// attachment; filename="ascii"; filename*=UTF-8''percent-encoded (RFC 6266).
std::string content_disposition(const std::string& name);

}  // namespace moccha::api
