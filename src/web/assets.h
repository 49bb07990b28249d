// The dashboard's files, built from web/ by esbuild and embedded gzipped (cmake/embed_web.cmake
// generates the table). Empty in a build with -DMOCCHA_WEB=OFF.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace moccha::web {

struct Asset {
  std::string_view path;  // "/", "/assets/main.js", ...
  std::string_view content_type;
  std::string_view etag;  // of the bytes as served gzipped, quoted: a strong ETag
  std::string_view gz;    // gzip -9 -n of the file
  std::size_t size;       // the file's own size
  bool immutable;         // a name with its content's hash in it: cached for good
};

std::span<const Asset> assets();
const Asset* find_asset(std::string_view path);

}  // namespace moccha::web
