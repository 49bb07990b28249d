// Bytes from a JDownloader (or anything on its API port): a reply's status and body read as
// JD's envelope. Anything accepted is data that writes back as JSON; everything else is an
// ApiError, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/jdownloader/api_client.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  long status = data[0] < 128 ? 200 : 400 + data[0] % 100;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    auto v = moccha::jd::decode_reply(status, body);
    if (status != 200) __builtin_trap();
    v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const moccha::jd::ApiError& e) {
    if (e.kind == moccha::jd::ApiError::Kind::refused && e.type.empty()) __builtin_trap();
  }
  return 0;
}
