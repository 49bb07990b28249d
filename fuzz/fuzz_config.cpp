// Config documents (a file anyone with the data dir may edit): never a crash, only ConfigError.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (doc.is_discarded()) return 0;
  moccha::Config c;
  try {
    moccha::apply_json(c, doc);
  } catch (const moccha::ConfigError&) {
  }
  return 0;
}
