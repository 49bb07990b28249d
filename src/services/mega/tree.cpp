#include "services/mega/tree.h"

#include <set>

namespace moccha::mega {

using nlohmann::json;

namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= path.size()) {
    std::size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) out.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  return out;
}

// Decrypts a node's key and attributes with `key_for(owner)` (the key its "owner:key" part is
// under), trying each part of "h1:k1/h2:k2".
template <class KeyFor>
Node read_node(const json& n, KeyFor key_for) {
  Node node;
  node.handle = n.value("h", std::string());
  node.parent = n.value("p", std::string());
  node.type = n.value("t", 0);
  node.size = n.value("s", 0LL);
  node.modified = n.value("ts", 0LL);
  node.name = node.handle;
  std::string k = n.value("k", std::string());
  for (std::size_t at = 0; at < k.size() && node.type <= kFolder;) {
    std::size_t end = k.find('/', at);
    if (end == std::string::npos) end = k.size();
    std::string part = k.substr(at, end - at);
    at = end + 1;
    auto colon = part.find(':');
    if (colon == std::string::npos) continue;
    std::optional<Key> under = key_for(part.substr(0, colon));
    auto enc = b64url_decode(part.substr(colon + 1));
    if (!under || !enc || (enc->size() != 16 && enc->size() != 32)) continue;
    node.raw_key = aes_ecb_decrypt(*under, *enc);
    if (node.type == kFile) {
      node.file_key = FileKey::unpack(node.raw_key);
      if (!node.file_key) continue;
      node.key = node.file_key->aes;
    } else {
      node.key = key_from(node.raw_key.substr(0, 16));
    }
    auto attrs = decrypt_attributes(n.value("a", std::string()), node.key);
    if (!attrs) continue;
    node.decrypted = true;
    if (attrs->is_object()) node.attributes = *attrs;
    if (attrs->contains("n") && (*attrs)["n"].is_string()) node.name = (*attrs)["n"];
    break;
  }
  if (node.type == kRoot) node.name = "";
  if (node.type == kRubbish) node.name = "Rubbish";
  if (node.type == kInbox) node.name = "Inbox";
  return node;
}

}  // namespace

Tree Tree::of_account(const json& listing, const Key& master, const std::string& user) {
  Tree t;
  for (const auto& ok : listing.value("ok", json::array())) {
    auto enc = b64url_decode(ok.value("k", std::string()));
    if (enc && enc->size() == 16)
      t.shares_[ok.value("h", "")] = key_from(aes_ecb_decrypt(master, *enc));
  }
  auto key_for = [&](const std::string& owner) -> std::optional<Key> {
    if (owner == user) return master;
    auto it = t.shares_.find(owner);
    return it == t.shares_.end() ? std::nullopt : std::optional<Key>(it->second);
  };
  for (const auto& n : listing.value("f", json::array())) t.add(read_node(n, key_for));
  return t;
}

Tree Tree::of_folder_link(const json& listing, const Key& folder_key) {
  Tree t;
  auto key_for = [&](const std::string&) -> std::optional<Key> { return folder_key; };
  for (const auto& n : listing.value("f", json::array())) {
    Node node = read_node(n, key_for);
    if (node.parent.empty()) t.root_ = node.handle;  // the shared folder is this tree's root
    t.add(std::move(node));
  }
  return t;
}

void Tree::add(Node node) {
  if (node.handle.empty() || nodes_.count(node.handle)) return;  // MEGA's are unique
  if (node.parent == node.handle) node.parent.clear();
  if (node.type == kRoot) root_ = node.handle;
  if (node.type == kRubbish) rubbish_ = node.handle;
  if (!node.parent.empty()) children_.emplace(node.parent, node.handle);
  std::string h = node.handle;
  nodes_[h] = std::move(node);
}

const Node* Tree::by_handle(const std::string& handle) const {
  auto it = nodes_.find(handle);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::vector<const Node*> Tree::children(const std::string& handle) const {
  std::vector<const Node*> out;
  auto [from, to] = children_.equal_range(handle);
  for (auto it = from; it != to; ++it)
    if (const Node* n = by_handle(it->second)) out.push_back(n);
  return out;
}

std::vector<const Node*> Tree::subtree(const std::string& handle) const {
  std::vector<const Node*> out;
  std::set<const Node*> seen;  // a listing with a cycle of parents is walked once
  if (const Node* top = by_handle(handle)) {
    out.push_back(top);
    seen.insert(top);
  }
  for (std::size_t i = 0; i < out.size(); ++i)
    for (const Node* c : children(out[i]->handle))
      if (seen.insert(c).second) out.push_back(c);
  return out;
}

const Node* Tree::find(const std::string& path) const {
  std::vector<std::string> parts = components(path);
  const Node* at = root();
  std::size_t i = 0;
  if (!parts.empty() && parts[0] == "Rubbish" && rubbish()) {
    at = rubbish();
    i = 1;
  }
  for (; at && i < parts.size(); ++i) {
    if (parts[i] == ".") continue;
    const Node* next = nullptr;
    for (const Node* c : children(at->handle))
      if (c->name == parts[i]) {
        next = c;
        break;
      }
    at = next;
  }
  return at;
}

std::string Tree::path_of(const std::string& handle) const {
  std::string path;
  std::size_t steps = 0;  // a cycle of parents ends at the listing's size
  for (const Node* n = by_handle(handle); n && n->handle != root_ && steps++ <= nodes_.size();
       n = by_handle(n->parent)) {
    path = "/" + n->name + path;
    if (n->type == kRubbish) break;
  }
  return path.empty() ? "/" : path;
}

std::optional<Key> Tree::share_key(const std::string& handle) const {
  auto it = shares_.find(handle);
  return it == shares_.end() ? std::nullopt : std::optional<Key>(it->second);
}

std::optional<std::pair<std::string, std::string>> split_path(const std::string& path) {
  std::vector<std::string> parts = components(path);
  if (parts.empty()) return std::nullopt;
  std::string parent;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) parent += "/" + parts[i];
  return std::make_pair(parent.empty() ? "/" : parent, parts.back());
}

}  // namespace moccha::mega
