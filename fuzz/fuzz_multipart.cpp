// Feeds the multipart parser arbitrary bytes, split at an arbitrary point, and checks that the
// file data it reports never exceeds what went in.
#include <cstddef>
#include <cstdint>

#include "files/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t split = data[0] % size;
  const char* body = reinterpret_cast<const char*>(data + 1);
  std::size_t n = size - 1;
  std::size_t seen = 0;
  moccha::files::MultipartParser parser("XyZ",
                                        {[](const moccha::files::PartHeaders&) {},
                                         [&](const char*, std::size_t k) { seen += k; }, [] {}});
  try {
    parser.feed(body, split < n ? split : n);
    parser.feed(body + (split < n ? split : n), n - (split < n ? split : n));
  } catch (const moccha::files::MultipartError&) {
  }
  if (seen > n) __builtin_trap();
  moccha::files::multipart_boundary(std::string_view(body, n));
  return 0;
}
