// Click'n'Load v2, the browser-integration protocol of JDownloader's ExternInterface
// (127.0.0.1:9666): a page posts a form to /flash/addcrypted2 with `crypted` (base64 of the
// link list, AES-128-CBC, IV = key, zero padding) and `jk` (a JavaScript function that returns
// the key as 32 hex digits) or `k` (the hex key itself), plus `passwords`, `source`,
// `package`. /flash/add takes the links in the clear (`urls`). Pure: no I/O.
//
// The page's JavaScript is never run (pyLoad's CVE-2023-0297 was exactly that): only the
// standard form `function f(){ return '<32 hex>';}` is read, by a strict pattern.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace moccha::cnl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The 16-byte key of a `jk` function in the standard form. Throws Error otherwise.
std::string key_from_jk(std::string_view jk);
// The 16-byte key of a `k` field (32 hex digits). Throws Error.
std::string key_from_hex(std::string_view hex);
// The links of a `crypted` field (base64; a '+' turned into a space by form encoding is put
// back), decrypted with `key`: one per line, trimmed, empty lines dropped. Throws Error.
std::vector<std::string> decrypt_links(std::string_view crypted, const std::string& key);
// The links of a /flash/add `urls` field: separated by new lines or spaces.
std::vector<std::string> split_links(std::string_view urls);

// What a form post to /flash/add or /flash/addcrypted2 carries.
struct Package {
  std::vector<std::string> links;
  std::string name;       // `package`, else `source`
  std::string passwords;  // archive passwords, as given
};
// The package of a form (already decoded into fields); `crypted`: the addcrypted2 form.
// Throws Error for a form without links or with a key or payload that cannot be read.
Package read_form(const std::map<std::string, std::string>& form, bool crypted);

}  // namespace moccha::cnl
