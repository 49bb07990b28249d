// A Click'n'Load form from any page a browser shows: the urlencoded body, read as both
// /flash/add and /flash/addcrypted2. Every link that comes out looks like a link.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/router.h"
#include "services/jdownloader/cnl.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  auto form = moccha::http::parse_query(body);
  for (bool crypted : {false, true}) {
    try {
      auto p = moccha::cnl::read_form(form, crypted);
      for (const auto& link : p.links)
        if (link.empty() || link.find_first_of(" \r\n") != std::string::npos) __builtin_trap();
    } catch (const moccha::cnl::Error&) {
    }
  }
  return 0;
}
