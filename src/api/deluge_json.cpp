#include "api/deluge_json.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/json_text.h"
#include "services/deluge/rencode.h"

namespace moccha::api {
namespace {

using deluge::RencodeError;
using deluge::RencodeReader;
using nlohmann::json;

enum class Kind { text, integer, real };

struct Field {
  std::string_view name;    // ours
  std::string_view deluge;  // the status key
  Kind kind;
};

// In the spec's order. Rates are payload rates, as Deluge's UI shows them.
constexpr std::array<Field, 11> kFields{{
    {"name", "name", Kind::text},
    {"progress", "progress", Kind::real},
    {"state", "state", Kind::text},
    {"download_rate", "download_payload_rate", Kind::integer},
    {"upload_rate", "upload_payload_rate", Kind::integer},
    {"seeds", "num_seeds", Kind::integer},
    {"peers", "num_peers", Kind::integer},
    {"total_wanted", "total_wanted", Kind::integer},
    {"total_done", "total_done", Kind::integer},
    {"eta", "eta", Kind::integer},
    {"ratio", "ratio", Kind::real},
}};

// Deluge's counters are integers; a float or a huge value still gives a sane one.
long long as_integer(double v) {
  if (!std::isfinite(v)) return 0;
  constexpr double limit = 9.2e18;
  if (v >= limit) return static_cast<long long>(limit);
  if (v <= -limit) return -static_cast<long long>(limit);
  return static_cast<long long>(v);
}

// One status value read in place, for the field it fills.
struct Value {
  std::string_view text;
  double number = 0;
  bool single = false;  // a 32-bit float: written with a float's shortest text
};

using Values = std::array<Value, kFields.size()>;

Value read_value(RencodeReader& r) {
  Value v;
  switch (r.type()) {
    case RencodeReader::Type::string:
      v.text = r.string();
      break;
    case RencodeReader::Type::integer:
      v.number = static_cast<double>(r.integer());
      break;
    case RencodeReader::Type::float32:
      v.single = true;
      v.number = r.floating();
      break;
    case RencodeReader::Type::float64:
      v.number = r.floating();
      break;
    case RencodeReader::Type::big_integer: {
      auto digits = r.big_integer();
      std::from_chars(digits.data(), digits.data() + digits.size(), v.number);
      break;
    }
    default:
      r.skip();  // a type no list field has: the field keeps its default
  }
  return v;
}

void append_torrent(std::string& out, std::string_view id, const Values& values) {
  out += "{\"id\":";
  append_json_string(out, id);
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    out += ",\"";
    out += kFields[i].name;
    out += "\":";
    const Value& v = values[i];
    switch (kFields[i].kind) {
      case Kind::text:
        append_json_string(out, v.text);
        break;
      case Kind::integer:
        append_json_integer(out, as_integer(v.number));
        break;
      case Kind::real:
        if (v.single)
          append_json_real(out, static_cast<float>(v.number));
        else
          append_json_real(out, v.number);
        break;
    }
  }
  out += '}';
}

}  // namespace

const json& torrent_list_keys() {
  static const json keys = [] {
    json k = json::array();
    for (const auto& f : kFields) k.push_back(f.deluge);
    return k;
  }();
  return keys;
}

double number_field(const json& s, const char* k) {
  auto it = s.find(k);
  return it != s.end() && it->is_number() ? it->get<double>() : 0.0;
}

json torrent_json(const std::string& id, const json& s) {
  json t = {{"id", id}};
  for (const auto& f : kFields) {
    std::string key(f.deluge);
    switch (f.kind) {
      case Kind::text: {
        auto it = s.find(key);
        t[std::string(f.name)] = it != s.end() && it->is_string() ? *it : json("");
        break;
      }
      case Kind::integer:
        t[std::string(f.name)] = as_integer(number_field(s, key.c_str()));
        break;
      case Kind::real:
        t[std::string(f.name)] = number_field(s, key.c_str());
        break;
    }
  }
  return t;
}

std::string torrent_list_body(std::string_view rencoded) {
  std::string items;
  items.reserve(rencoded.size() * 2);
  std::size_t count = 0;
  Values values{};
  deluge::walk_torrent_statuses(
      rencoded,
      [&](std::string_view key, RencodeReader& r) {
        std::size_t i = 0;
        while (i < kFields.size() && kFields[i].deluge != key) ++i;
        if (i < kFields.size()) values[i] = read_value(r);
      },
      [&](std::string_view id) {
        if (count++) items += ',';
        append_torrent(items, id, values);
        values = Values{};
      });
  // The spec's order: success, torrents, count.
  std::string body;
  body.reserve(items.size() + 64);
  body += "{\"success\":true,\"torrents\":[";
  body += items;
  body += "],\"count\":" + std::to_string(count) + "}\n";
  return body;
}

json peer_json(const json& p) {
  // Deluge reports a peer as "1.2.3.4:5678" (or "[::1]:5678").
  std::string addr = p.value("ip", "");
  std::string ip = addr, port;
  if (auto colon = addr.rfind(':'); colon != std::string::npos) {
    ip = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return {{"peer_id", addr},
          {"ip", ip},
          {"port", port.empty() ? json(nullptr) : json(std::atoi(port.c_str()))},
          {"client", p.value("client", "")},
          {"progress", number_field(p, "progress")},
          {"down_speed", as_integer(number_field(p, "down_speed"))},
          {"up_speed", as_integer(number_field(p, "up_speed"))},
          {"seed", p.value("seed", 0) != 0}};
}

const json& torrent_detail_keys() {
  static const json keys = [] {
    json k = torrent_list_keys();
    for (const char* extra :
         {"files", "file_progress", "trackers", "peers", "tracker_host", "tracker_status"})
      k.push_back(extra);
    return k;
  }();
  return keys;
}

json torrent_detail_json(const std::string& id, const json& s) {
  json t = torrent_json(id, s);
  t["num_peers"] = t["peers"];
  json files = json::array();
  const json& progress = s.value("file_progress", json::array());
  for (const auto& f : s.value("files", json::array())) {
    std::size_t i = f.value("index", 0);
    files.push_back({{"index", i},
                     {"path", f.value("path", "")},
                     {"size", f.value("size", 0LL)},
                     {"offset", f.value("offset", 0LL)},
                     {"progress", i < progress.size() ? progress[i] : json(0)}});
  }
  json trackers = json::array();
  // Deluge reports one status, of the tracker it last announced to.
  std::string host = s.value("tracker_host", "");
  for (const auto& tr : s.value("trackers", json::array())) {
    std::string url = tr.value("url", "");
    bool current = !host.empty() && url.find(host) != std::string::npos;
    trackers.push_back({{"url", url},
                        {"tier", tr.value("tier", 0)},
                        {"status", current ? s.value("tracker_status", "") : std::string()}});
  }
  json peers = json::array();
  for (const auto& p : s.value("peers", json::array())) peers.push_back(peer_json(p));
  t["files"] = std::move(files);
  t["trackers"] = std::move(trackers);
  t["peers"] = std::move(peers);
  return t;
}

const json& session_keys() {
  static const json keys = json::array(
      {"upload_rate", "download_rate", "dht_nodes", "payload_upload_rate", "payload_download_rate",
       "peer.num_peers_connected", "peer.num_tcp_peers", "peer.num_utp_peers"});
  return keys;
}

json session_json(const json& s) {
  auto n = [&](const char* k) { return static_cast<long long>(number_field(s, k)); };
  return {{"upload_rate", n("upload_rate")},
          {"download_rate", n("download_rate")},
          {"dht_nodes", n("dht_nodes")},
          {"num_peers", n("peer.num_peers_connected")},
          {"num_connections", n("peer.num_tcp_peers") + n("peer.num_utp_peers")},
          {"payload_upload_rate", n("payload_upload_rate")},
          {"payload_download_rate", n("payload_download_rate")}};
}

}  // namespace moccha::api
