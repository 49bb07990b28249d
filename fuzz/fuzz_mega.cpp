// What MEGA (or whoever answers at api_url, or made a public link) sends: a node listing read
// into a tree with keys decrypted, paths looked up; link text; a login's RSA ciphertext and
// key. Nothing crashes, and every path the tree gives is absolute.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/mega/crypto.h"
#include "services/mega/links.h"
#include "services/mega/tree.h"

using namespace moccha::mega;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const Key key = key_from(std::string(16, 'k'));
  if (auto link = parse_link(text)) {
    if (link->key.size() != (link->folder ? 16u : 32u)) __builtin_trap();
    parse_link(make_link(*link));
  }
  decrypt_attributes(text, key);
  auto half = text.size() / 2;
  decrypt_session_id(std::string_view(text).substr(0, half), std::string_view(text).substr(half));
  nlohmann::json listing = nlohmann::json::parse(text, nullptr, false);
  if (!listing.is_object()) return 0;
  try {
    for (int folder_link = 0; folder_link < 2; ++folder_link) {
      Tree t =
          folder_link ? Tree::of_folder_link(listing, key) : Tree::of_account(listing, key, "me");
      if (!listing.contains("f") || !listing["f"].is_array()) continue;
      for (const auto& n : listing["f"]) {
        if (!n.is_object() || !n.contains("h") || !n["h"].is_string()) continue;
        std::string h = n["h"];
        std::string path = t.path_of(h);
        if (path.empty() || path[0] != '/') __builtin_trap();
        t.find(path);
        t.subtree(h);
        t.children(h);
      }
      t.find("/Rubbish/a/../b");
    }
  } catch (const nlohmann::json::exception&) {
    // a listing of the wrong shape is refused, not crashed on
  }
  return 0;
}
