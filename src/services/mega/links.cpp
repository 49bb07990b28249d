#include "services/mega/links.h"

#include <regex>

namespace moccha::mega {

bool is_mega_url(const std::string& url) {
  static const std::regex host(R"(^https?://(www\.)?mega\.(nz|co\.nz)(/|$))", std::regex::icase);
  return std::regex_search(url, host);
}

std::optional<PublicLink> parse_link(const std::string& url) {
  if (!is_mega_url(url)) return std::nullopt;
  static const std::regex modern(R"(/(file|folder)/([A-Za-z0-9_-]{8})#([A-Za-z0-9_-]+))");
  static const std::regex legacy(R"(#(F?)!([A-Za-z0-9_-]{8})!([A-Za-z0-9_-]+))");
  std::smatch m;
  PublicLink link;
  if (std::regex_search(url, m, modern))
    link.folder = m[1] == "folder";
  else if (std::regex_search(url, m, legacy))
    link.folder = m[1] == "F";
  else
    return std::nullopt;
  link.handle = m[2];
  auto key = b64url_decode(m[3].str());
  if (!key || key->size() != (link.folder ? 16u : 32u)) return std::nullopt;
  link.key = *key;
  return link;
}

std::string make_link(const PublicLink& link) {
  return "https://mega.nz/" + std::string(link.folder ? "folder/" : "file/") + link.handle + "#" +
         b64url(link.key);
}

}  // namespace moccha::mega
