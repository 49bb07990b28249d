// Bytes from a deluged (or anything listening on its port): rencode decoding, the torrent list
// read in place, and the zlib message body. Anything decoded must re-encode and decode to the
// same value; a torrent list written must be valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/deluge_json.h"
#include "services/deluge/rencode.h"
#include "services/deluge/rpc_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    auto v = moccha::deluge::rdecode(in);
    // Compared as text: NaN (which a 32/64-bit float may hold) is unequal to itself, and
    // bytes that are not UTF-8 must survive (the daemon sends file names as they are).
    if (moccha::deluge::rdecode(moccha::deluge::rencode(v))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) !=
        v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
      __builtin_trap();
  } catch (const moccha::deluge::RencodeError&) {
  }
  try {
    std::string body = moccha::api::torrent_list_body(in);
    if (!nlohmann::json::accept(body)) __builtin_trap();
  } catch (const moccha::deluge::RencodeError&) {
  }
  try {
    moccha::deluge::decode_body(in, 1 << 20);
  } catch (const moccha::deluge::RpcError&) {
  }
  return 0;
}
