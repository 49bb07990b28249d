// Whatever a (broken, foreign) nvidia-smi prints.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "system/gpu.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  moccha::sys::parse_nvidia_smi(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
