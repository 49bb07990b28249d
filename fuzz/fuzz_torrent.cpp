// Bytes a user hands over as a .torrent (an upload, a path, the watch folder) or as a magnet
// link: the bencode walk that finds the info-hash, and the magnet parser. Whatever they accept
// must give a 40-hex id.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/deluge/torrent_file.h"

namespace {

bool hex40(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto h = moccha::deluge::torrent_info_hash(in); h && !hex40(*h)) __builtin_trap();
  if (auto h = moccha::deluge::magnet_info_hash(in); h && !hex40(*h)) __builtin_trap();
  return 0;
}
