#include "http/admission.h"

#include <algorithm>

#include "core/text.h"

namespace moccha::http {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Runs over `b` (the secret) whatever `a` is.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    unsigned char ca = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= ca ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0 && !b.empty();
}

std::string bearer_key(std::string_view authorization) {
  std::string_view v = trim_ows(authorization);
  if (v.size() > 7 && iequals(v.substr(0, 7), "bearer ")) return std::string(trim_ows(v.substr(7)));
  return {};
}

std::chrono::milliseconds auth_delay(int failures, int allowed) {
  int over = failures - allowed;
  if (over <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::min(100LL << std::min(over - 1, 8), 10000LL));
}

std::string origin_form(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      std::string_view rest = target.substr(scheme.size());
      auto at = rest.find_first_of("/?");
      if (at == std::string_view::npos) return "/";
      return rest[at] == '/' ? std::string(rest.substr(at)) : "/" + std::string(rest.substr(at));
    }
  }
  return std::string(target);
}

std::optional<std::string> bad_framing(std::optional<std::string_view> te, std::size_t fields,
                                       bool has_content_length) {
  if (!te) return std::nullopt;
  if (fields > 1 || !iequals(trim_ows(*te), "chunked"))
    return "Transfer-Encoding '" + std::string(*te) + "' is not supported; use chunked";
  if (has_content_length)
    return std::string("Transfer-Encoding and Content-Length together are refused");
  return std::nullopt;
}

}  // namespace moccha::http
