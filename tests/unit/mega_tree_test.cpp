// MEGA's links and the tree by path, from listings made here with real keys.
#include <gtest/gtest.h>

#include "services/mega/links.h"
#include "services/mega/tree.h"

namespace moccha::mega {
namespace {

using nlohmann::json;

Key key_of(char c) {
  return key_from(std::string(16, c));
}
std::string raw(const Key& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), 16);
}

// A node as `f` lists it: its key under `under`, its name in its attributes.
json node(const std::string& h, const std::string& parent, int type, const std::string& name,
          const Key& key, const Key& under, const std::string& owner = "me") {
  json n = {{"h", h}, {"p", parent}, {"t", type}, {"ts", 1700000000}};
  if (type <= kFolder) {
    n["a"] = encrypt_attributes({{"n", name}}, key);
    n["k"] = owner + ":" + b64url(aes_ecb_encrypt(under, raw(key)));
  }
  if (type == kFile) n["s"] = 5;
  return n;
}

TEST(MegaLinks, NewAndLegacyFormsWithTheirKeys) {
  std::string file_key = b64url(std::string(32, 'k')), folder_key = b64url(std::string(16, 'f'));
  auto a = parse_link("https://mega.nz/file/AbCd12_-#" + file_key);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->folder);
  EXPECT_EQ(a->handle, "AbCd12_-");
  EXPECT_EQ(a->key, std::string(32, 'k'));
  auto b = parse_link("https://mega.co.nz/#!AbCd12_-!" + file_key);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->handle, "AbCd12_-");
  auto c = parse_link("https://mega.nz/folder/Zz9Zz9Zz#" + folder_key);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->folder);
  EXPECT_EQ(make_link(*c), "https://mega.nz/folder/Zz9Zz9Zz#" + folder_key);
  EXPECT_TRUE(parse_link("https://mega.nz/#F!Zz9Zz9Zz!" + folder_key));
  EXPECT_FALSE(parse_link("https://mega.nz/file/AbCd12_-#" + folder_key));    // 16-byte key
  EXPECT_FALSE(parse_link("https://mega.nz/folder/Zz9Zz9Zz#" + file_key));    // 32-byte key
  EXPECT_FALSE(parse_link("https://example.org/file/AbCd12_-#" + file_key));  // not MEGA
  EXPECT_FALSE(parse_link("https://mega.nz.example.org/file/AbCd12_-#" + file_key));
  EXPECT_FALSE(parse_link("https://mega.nz/file/AbCd12_-"));  // no key
}

TEST(MegaTree, PathsRubbishAndKeysThatDoNotOpen) {
  Key master = key_of('m'), docs = key_of('d'), share = key_of('s');
  FileKey fk;
  fk.aes = key_of('a');
  fk.nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  fk.meta_mac = {9, 9, 9, 9, 9, 9, 9, 9};
  json f = json::array({node("ROOT0000", "", kRoot, "", master, master),
                        node("TRASH000", "", kRubbish, "", master, master),
                        node("DOCS0000", "ROOT0000", kFolder, "docs", docs, master)});
  json file = node("FILE0000", "DOCS0000", kFile, "a.txt", fk.aes, master);
  file["k"] = "me:" + b64url(aes_ecb_encrypt(master, fk.packed()));
  file["a"] = encrypt_attributes({{"n", "a.txt"}}, fk.aes);
  f.push_back(file);
  f.push_back(node("OLD00000", "TRASH000", kFolder, "old", key_of('o'), master));
  // Under a share key listed in ok, and one under a key nobody has.
  f.push_back(node("SHARED00", "ROOT0000", kFolder, "shared", key_of('x'), share, "SHARED00"));
  f.push_back(node("LOCKED00", "ROOT0000", kFolder, "locked", key_of('y'), key_of('z'), "other"));
  json ok = json::array({{{"h", "SHARED00"}, {"k", b64url(aes_ecb_encrypt(master, raw(share)))}}});
  Tree t = Tree::of_account({{"f", f}, {"ok", ok}}, master, "me");

  ASSERT_TRUE(t.find("/"));
  EXPECT_EQ(t.find("/")->handle, "ROOT0000");
  ASSERT_TRUE(t.find("/docs/a.txt"));
  const Node& a = *t.find("/docs/a.txt");
  EXPECT_TRUE(a.decrypted);
  ASSERT_TRUE(a.file_key);
  EXPECT_EQ(a.file_key->meta_mac, fk.meta_mac);
  EXPECT_EQ(a.key, fk.aes);
  EXPECT_EQ(t.path_of("FILE0000"), "/docs/a.txt");
  EXPECT_EQ(t.find("//docs/./a.txt"), &a);
  EXPECT_EQ(t.find("/Rubbish/old")->handle, "OLD00000");
  EXPECT_EQ(t.path_of("OLD00000"), "/Rubbish/old");
  EXPECT_EQ(t.find("/shared")->handle, "SHARED00");
  EXPECT_FALSE(t.find("/locked"));  // its name is its handle: the key does not open
  EXPECT_FALSE(t.by_handle("LOCKED00")->decrypted);
  EXPECT_FALSE(t.find("/docs/nope"));
  EXPECT_EQ(t.subtree("DOCS0000").size(), 2u);
  EXPECT_EQ(split_path("/a/b")->first, "/a");
  EXPECT_EQ(split_path("/a/b")->second, "b");
  EXPECT_FALSE(split_path("/"));
}

TEST(MegaTree, ACycleOfParentsFromTheServerEnds) {
  Key master = key_of('m');
  json f = json::array({node("ROOT0000", "", kRoot, "", master, master),
                        node("AAAAAAAA", "BBBBBBBB", kFolder, "a", key_of('a'), master),
                        node("BBBBBBBB", "AAAAAAAA", kFolder, "b", key_of('b'), master),
                        node("SELF0000", "SELF0000", kFolder, "self", key_of('c'), master),
                        node("AAAAAAAA", "ROOT0000", kFolder, "again", key_of('d'), master)});
  Tree t = Tree::of_account({{"f", f}}, master, "me");
  EXPECT_EQ(t.subtree("AAAAAAAA").size(), 2u);    // a, b: each once
  EXPECT_FALSE(t.path_of("AAAAAAAA").empty());    // ends
  EXPECT_EQ(t.by_handle("AAAAAAAA")->name, "a");  // the first of a handle listed twice
  EXPECT_EQ(t.path_of("SELF0000"), "/self");
  EXPECT_FALSE(t.find("/a"));  // not below the root
}

}  // namespace
}  // namespace moccha::mega
