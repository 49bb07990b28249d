// A directory listing as GET /files answers it: sorted, paged, and written straight to JSON
// text from compact entries (no JSON tree: a 100 000-entry tree held 85 MiB).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "files/file_ops.h"

namespace moccha::files {

struct ListOptions {
  enum class Sort { type, name, size, modified };  // type: directories first, then by name
  Sort sort = Sort::type;
  bool descending = false;
  std::size_t offset = 0;
  std::optional<std::size_t> limit;  // none: everything from offset on
};

// Parses ?sort= (type|name|size|modified, "-" in front for descending) and ?order=
// (asc|desc); false with `why` set when either is not one of those.
bool parse_sort(const std::string& sort, const std::string& order, ListOptions& out,
                std::string& why);

// {"path", "items": [{"name", "type", "size", "modified"}...], "total", "offset", "limit",
// "next_offset"}: `entries` sorted and cut to the page. A name that is not UTF-8 is shown with
// U+FFFD in "name" and byte for byte, percent-encoded, in "name_uri" (which a client can put in
// a URL's path or ?path= to address it).
std::string listing_json(const std::string& path, std::vector<Entry>& entries,
                         const ListOptions& options);

}  // namespace moccha::files
