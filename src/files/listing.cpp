#include "files/listing.h"

#include <algorithm>
#include <chrono>

#include "core/hex.h"
#include "core/json_text.h"
#include "core/time_util.h"

namespace moccha::files {

bool parse_sort(const std::string& sort_in, const std::string& order, ListOptions& out,
                std::string& why) {
  std::string sort = sort_in;
  if (!sort.empty() && sort.front() == '-') {
    out.descending = true;
    sort.erase(0, 1);
  }
  using Sort = ListOptions::Sort;
  if (sort.empty() || sort == "type") {
    out.sort = Sort::type;
  } else if (sort == "name") {
    out.sort = Sort::name;
  } else if (sort == "size") {
    out.sort = Sort::size;
  } else if (sort == "modified" || sort == "mtime") {
    out.sort = Sort::modified;
  } else {
    why = "sort must be one of type, name, size, modified (a leading '-' reverses it)";
    return false;
  }
  if (order == "desc") {
    out.descending = true;
  } else if (!order.empty() && order != "asc") {
    why = "order must be asc or desc";
    return false;
  }
  return true;
}

std::string listing_json(const std::string& path, std::vector<Entry>& entries,
                         const ListOptions& o) {
  using Sort = ListOptions::Sort;
  auto less = [&](const Entry& a, const Entry& b) {
    switch (o.sort) {
      case Sort::type: {
        bool ad = a.type == "dir", bd = b.type == "dir";
        if (ad != bd) return ad;
        break;
      }
      case Sort::size:
        if (a.size != b.size) return a.size < b.size;
        break;
      case Sort::modified:
        if (a.mtime_s != b.mtime_s) return a.mtime_s < b.mtime_s;
        break;
      case Sort::name:
        break;
    }
    return a.name < b.name;  // bytewise; also the tie-break, so pages are stable
  };
  std::size_t total = entries.size();
  std::size_t first = std::min(o.offset, total);
  std::size_t last = o.limit ? first + std::min(*o.limit, total - first) : total;
  // Only the page needs to be in order: partial_sort of a page is O(n log page).
  auto cmp = [&](const Entry& a, const Entry& b) { return o.descending ? less(b, a) : less(a, b); };
  if (last == total)
    std::sort(entries.begin(), entries.end(), cmp);
  else
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(last),
                      entries.end(), cmp);

  std::string out;
  out.reserve(64 + (last - first) * 96);
  out += "{\"path\":";
  append_json_string(out, path);
  out += ",\"items\":[";
  for (std::size_t i = first; i < last; ++i) {
    const Entry& e = entries[i];
    if (i > first) out += ',';
    out += "{\"name\":";
    append_json_string(out, e.name);
    if (!valid_utf8(e.name)) {
      out += ",\"name_uri\":";
      append_json_string(out, percent_encode(e.name));
    }
    out += ",\"type\":";
    append_json_string(out, e.type);
    out += ",\"size\":";
    append_json_integer(out, static_cast<std::int64_t>(e.size));
    out += ",\"modified\":";
    append_json_string(
        out, iso8601_utc(std::chrono::system_clock::time_point(std::chrono::seconds(e.mtime_s))));
    out += '}';
  }
  out += "],\"total\":";
  append_json_integer(out, static_cast<std::int64_t>(total));
  out += ",\"offset\":";
  append_json_integer(out, static_cast<std::int64_t>(first));
  out += ",\"limit\":";
  if (o.limit)
    append_json_integer(out, static_cast<std::int64_t>(*o.limit));
  else
    out += "null";
  out += ",\"next_offset\":";
  if (last < total)
    append_json_integer(out, static_cast<std::int64_t>(last));
  else
    out += "null";
  out += "}\n";
  return out;
}

}  // namespace moccha::files
