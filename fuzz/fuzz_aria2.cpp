// Bytes from an aria2c (or anything listening on its RPC port), and add requests from a
// client: a batch reply of lists read in place, one status tree, and an add request's body.
// Whatever is read must come out as valid JSON: the queue's items and the API's downloads.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/aria2/rpc_client.h"
#include "services/aria2/shapes.h"
#include "services/service.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using moccha::aria2::RpcError;
  using nlohmann::json;
  std::string in(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& st : moccha::aria2::read_lists(in)) {
      std::string text;
      moccha::services::append_item_json(text, moccha::aria2::queue_item(st, json::object(), true));
      if (!json::accept(text)) __builtin_trap();
      moccha::aria2::download_json(st, json::object())
          .dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } catch (const RpcError&) {
  }
  json tree = json::parse(in, nullptr, false);
  if (tree.is_discarded()) return 0;
  auto st = moccha::aria2::status_from(tree);
  if (moccha::aria2::status_from(moccha::aria2::status_json(st)).gid != st.gid) __builtin_trap();
  try {
    std::vector<std::string> uris;
    moccha::aria2::add_options(tree, uris);
    if (uris.empty()) __builtin_trap();
  } catch (const moccha::services::ServiceError&) {
  } catch (const json::exception&) {
  }
  return 0;
}
