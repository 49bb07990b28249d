// The account's nodes as a tree of names, from an `f` listing with every key decrypted
// (doc/protocols/mega.md, "Nodes, keys, attributes"). Paths: "/" is the Cloud Drive, "/a/b"
// below it, "/Rubbish" the Rubbish Bin. A node whose key or attributes do not decrypt keeps
// its handle as its name. Immutable once built.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "services/mega/crypto.h"

namespace moccha::mega {

enum NodeType { kFile = 0, kFolder = 1, kRoot = 2, kInbox = 3, kRubbish = 4 };

struct Node {
  std::string handle, parent, name;
  int type = kFile;
  long long size = 0, modified = 0;
  Key key{};                        // a folder's key, or a file's AES key
  std::optional<FileKey> file_key;  // files: key, nonce and meta-MAC
  bool decrypted = false;
  Bytes raw_key;  // the plain 16 or 32 bytes, as re-keyed under a share
  nlohmann::json attributes = nlohmann::json::object();  // decrypted: {"n": name, ...}
  bool is_dir() const { return type != kFile; }
};

class Tree {
 public:
  // The account's listing: node keys "owner:key" under the master key (owner = `user`) or
  // under a share key of the listing's `ok`.
  static Tree of_account(const nlohmann::json& listing, const Key& master, const std::string& user);
  // A public folder link's listing: every key under the link's folder key.
  static Tree of_folder_link(const nlohmann::json& listing, const Key& folder_key);

  const Node* by_handle(const std::string& handle) const;
  // "/", "/a/b", "/Rubbish/x"; nullptr when not there.
  const Node* find(const std::string& path) const;
  std::vector<const Node*> children(const std::string& handle) const;
  std::vector<const Node*> subtree(const std::string& handle) const;  // itself first
  std::string path_of(const std::string& handle) const;
  const Node* root() const { return by_handle(root_); }
  const Node* rubbish() const { return by_handle(rubbish_); }
  // The share key of a folder shared by link, when it is.
  std::optional<Key> share_key(const std::string& handle) const;

 private:
  void add(Node node);
  std::map<std::string, Node> nodes_;
  std::multimap<std::string, std::string> children_;  // parent -> child handles
  std::map<std::string, Key> shares_;
  std::string root_, rubbish_;
};

// The path's parent and last name ("/a/b" -> "/a", "b"); "/" has none (nullopt).
std::optional<std::pair<std::string, std::string>> split_path(const std::string& path);

}  // namespace moccha::mega
