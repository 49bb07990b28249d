#include "http/router.h"

namespace moccha::http {

RateGroup rate_group(std::string_view path) {
  if (path == "/services/deluge" || path.starts_with("/services/deluge/")) return RateGroup::deluge;
  if (path == "/services" || path.starts_with("/services/")) return RateGroup::services;
  if (path == "/downloads" || path.starts_with("/downloads/")) return RateGroup::services;
  return RateGroup::system;
}

const char* to_string(RateGroup group) {
  switch (group) {
    case RateGroup::deluge:
      return "deluge";
    case RateGroup::services:
      return "services";
    case RateGroup::system:
      break;
  }
  return "system";
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool split_path(std::string_view path, std::vector<std::string>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    if (next > pos) {
      std::string seg;
      if (!percent_decode(path.substr(pos, next - pos), seg)) return false;
      out.push_back(std::move(seg));
    } else if (pos > 0 && next == pos && next < path.size()) {
      out.emplace_back();  // an empty segment inside the path ("a//b") is kept
    }
    pos = next + 1;
  }
  return true;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(pos, amp - pos);
    std::size_t eq = pair.find('=');
    std::string key, value;
    bool ok = percent_decode(pair.substr(0, eq), key, true);
    if (eq != std::string_view::npos) ok = ok && percent_decode(pair.substr(eq + 1), value, true);
    if (ok && !key.empty()) out[key] = value;
    pos = amp + 1;
  }
  return out;
}

void Router::add(Route route, RouteDoc doc) {
  route.doc = std::move(doc);
  add(std::move(route));
}

void Router::add(Route route) {
  Entry entry;
  split_path(route.pattern, entry.segments);
  for (const auto& s : entry.segments)
    if (!s.starts_with('{')) ++entry.literals;
  routes_.push_back(std::move(route));
  entries_.push_back(std::move(entry));
}

namespace {

// The raw remainder of `path` after skipping `skip` segments, for {name*} parameters.
std::string_view rest_after(std::string_view path, std::size_t skip) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i <= skip && pos < path.size(); ++i) {
    pos = path.find('/', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  return path.substr(pos);
}

}  // namespace

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match best;
  std::vector<std::string> segs;
  if (!split_path(path, segs)) return best;
  std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  int best_score = -1;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const auto& pattern = entries_[r].segments;
    std::map<std::string, std::string> params;
    bool matched = true;
    std::size_t i = 0;
    for (; i < pattern.size(); ++i) {
      const std::string& p = pattern[i];
      if (p.starts_with('{') && p.ends_with("*}")) {
        std::string rest;
        if (i >= segs.size() || !percent_decode(rest_after(path, i), rest))
          matched = false;
        else
          params[p.substr(1, p.size() - 3)] = rest;
        i = segs.size();
        break;
      }
      if (i >= segs.size()) {
        matched = false;
        break;
      }
      if (p.starts_with('{')) {
        if (segs[i].empty()) {
          matched = false;
          break;
        }
        params[p.substr(1, p.size() - 2)] = segs[i];
      } else if (p != segs[i]) {
        matched = false;
        break;
      }
    }
    if (!matched || i != segs.size()) continue;
    if (routes_[r].method != want) {
      best.allowed.push_back(routes_[r].method);
      continue;
    }
    if (entries_[r].literals > best_score) {
      best_score = entries_[r].literals;
      best.route = &routes_[r];
      best.params = std::move(params);
    }
  }
  if (best.route) best.allowed.clear();
  return best;
}

}  // namespace moccha::http
