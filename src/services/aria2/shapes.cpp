#include "services/aria2/shapes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "core/text.h"
#include "services/aria2/rpc_client.h"
#include "services/downloads.h"
#include "services/schema.h"
#include "services/service.h"

namespace moccha::aria2 {

using json = nlohmann::json;
using services::ServiceError;
namespace fs = std::filesystem;

namespace {

ServiceError invalid(const std::string& message) {
  return ServiceError(ServiceError::Kind::invalid, message);
}

bool clean_text(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void check_url(const std::string& url, const char* field) {
  static const std::set<std::string> schemes = {"http", "https", "ftp", "sftp"};
  auto colon = url.find("://");
  std::string scheme = colon == std::string::npos ? "" : ascii_lower(url.substr(0, colon));
  if (!schemes.count(scheme))
    throw invalid(std::string("'") + field + "': '" + escape_control(url.substr(0, 200)) +
                  "' is not an http, https, ftp or sftp link");
  if (url.size() > 8192 || !clean_text(url) || url.find(' ') != std::string::npos ||
      colon + 3 >= url.size())
    throw invalid(std::string("'") + field + "' is not a valid link");
}

}  // namespace

json add_options(const json& r, std::vector<std::string>& uris) {
  if (!r.is_object()) throw invalid("the body must be a JSON object");
  if (r.contains("url") == r.contains("urls"))
    throw invalid("give 'url' (a link) or 'urls' (mirrors of one file)");
  if (r.contains("url")) {
    if (!r["url"].is_string()) throw invalid("'url' must be a string");
    uris.push_back(r["url"].get<std::string>());
    check_url(uris.back(), "url");
  } else {
    if (!r["urls"].is_array() || r["urls"].empty() || r["urls"].size() > 16)
      throw invalid("'urls' must be a list of 1 to 16 links");
    for (const auto& u : r["urls"]) {
      if (!u.is_string()) throw invalid("'urls' must hold strings");
      uris.push_back(u.get<std::string>());
      check_url(uris.back(), "urls");
    }
  }
  json o = json::object();
  if (r.contains("dir")) services::schema::path()("dir", r["dir"]), o["dir"] = r["dir"];
  if (r.contains("out")) {
    if (!r["out"].is_string()) throw invalid("'out' must be a file name");
    std::string out = r["out"].get<std::string>();
    if (out.empty() || out.size() > 255 || out == "." || out == ".." ||
        out.find('/') != std::string::npos || !clean_text(out))
      throw invalid("'out' must be a file name: no slash, at most 255 bytes");
    o["out"] = out;
  }
  if (r.contains("headers")) {
    if (!r["headers"].is_array() || r["headers"].size() > 64)
      throw invalid("'headers' must be a list of \"Name: value\" strings");
    static const std::regex header("^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\\r\\n]*$");
    json hs = json::array();
    for (const auto& h : r["headers"]) {
      if (!h.is_string() || h.get<std::string>().size() > 8192 || !clean_text(h) ||
          !std::regex_match(h.get<std::string>(), header))
        throw invalid("'headers': each must be \"Name: value\", one line");
      hs.push_back(h);
    }
    o["header"] = hs;
  }
  if (r.contains("checksum")) {
    static const std::regex sum("^(sha-1|sha-224|sha-256|sha-384|sha-512|md5)=([0-9a-fA-F]+)$");
    static const std::map<std::string, std::size_t> digits = {{"sha-1", 40},    {"sha-224", 56},
                                                              {"sha-256", 64},  {"sha-384", 96},
                                                              {"sha-512", 128}, {"md5", 32}};
    std::smatch m;
    std::string c = r["checksum"].is_string() ? r["checksum"].get<std::string>() : "";
    if (!std::regex_match(c, m, sum) || m[2].length() != static_cast<long>(digits.at(m[1])))
      throw invalid("'checksum' must be TYPE=HEX: sha-256=..., sha-1=... or md5=...");
    o["checksum"] = m[1].str() + "=" + ascii_lower(m[2].str());
  }
  if (r.contains("connections")) {
    services::schema::integer(1, 16)("connections", r["connections"]);
    std::string n = std::to_string(r["connections"].get<int>());
    o["max-connection-per-server"] = n;
    o["split"] = n;
  }
  if (r.contains("paused")) {
    if (!r["paused"].is_boolean()) throw invalid("'paused' must be true or false");
    if (r["paused"].get<bool>()) o["pause"] = "true";
  }
  return o;
}

const json& status_keys() {
  static const json keys = {"gid",           "status",      "totalLength", "completedLength",
                            "downloadSpeed", "uploadSpeed", "connections", "errorCode",
                            "errorMessage",  "dir",         "files",       "seeder"};
  return keys;
}

long long num(const json& s, const char* key) {
  auto it = s.find(key);
  if (it == s.end()) return 0;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    return std::isfinite(d) && std::fabs(d) < 9e18 ? static_cast<long long>(d) : 0;
  }
  if (!it->is_string()) return 0;
  try {
    return std::stoll(it->get<std::string>());
  } catch (const std::exception&) {
    return 0;
  }
}

std::string base_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string common_state(const std::string& s, bool seeder) {
  if (s == "active") return seeder ? "seeding" : "active";
  if (s == "waiting") return "queued";
  if (s == "paused") return "paused";
  if (s == "complete") return "completed";
  if (s == "error") return "failed";
  if (s == "removed") return "canceled";
  return "queued";
}

std::string code_text(long long code) {
  static const char* const kText[] = {
      "",
      "an unknown error occurred",
      "timed out",
      "the resource was not found",
      "too many 'resource not found' errors",
      "the download was too slow",
      "a network problem occurred",
      "there were unfinished downloads",
      "the server does not support resuming",
      "there was not enough disk space",
      "the piece length differs from the control file",
      "the same file was being downloaded",
      "the same info hash was being downloaded",
      "the file already exists",
      "renaming the file failed",
      "the existing file could not be opened",
      "the file could not be created or truncated",
      "a file I/O error occurred",
      "the directory could not be created",
      "name resolution failed",
      "the Metalink document could not be parsed",
      "an FTP command failed",
      "the HTTP response header was bad or unexpected",
      "there were too many redirects",
      "HTTP authorization failed",
      "the bencoded file could not be parsed",
      "the .torrent file is corrupted or misses information",
      "the magnet URI is bad",
      "a bad or unrecognized option was given",
      "the server could not handle the request (overloaded or in maintenance)",
      "the JSON-RPC request could not be parsed",
      "reserved",
      "the checksum did not match",
  };
  if (code > 0 && code < static_cast<long long>(std::size(kText))) return kText[code];
  return "aria2 error " + std::to_string(code);
}

namespace {

// A text field of a status, "" when missing or not text.
std::string text_of(const json& s, const char* key) {
  auto it = s.find(key);
  return it != s.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status status_from(const json& s) {
  Status st;
  if (!s.is_object()) return st;
  st.gid = text_of(s, "gid");
  st.status = text_of(s, "status");
  st.dir = text_of(s, "dir");
  st.error_message = text_of(s, "errorMessage");
  st.total = num(s, "totalLength");
  st.done = num(s, "completedLength");
  st.down = num(s, "downloadSpeed");
  st.up = num(s, "uploadSpeed");
  st.connections = num(s, "connections");
  st.error_code = num(s, "errorCode");
  st.seeder = text_of(s, "seeder") == "true";
  auto files = s.find("files");
  if (files != s.end() && files->is_array() && !files->empty() && (*files)[0].is_object()) {
    const json& f = (*files)[0];
    st.path = text_of(f, "path");
    auto uris = f.find("uris");
    if (uris != f.end() && uris->is_array() && !uris->empty() && (*uris)[0].is_object())
      st.uri = text_of((*uris)[0], "uri");
  }
  return st;
}

json status_json(const Status& s) {
  json file = {{"path", s.path}, {"uris", json::array()}};
  if (!s.uri.empty()) file["uris"].push_back({{"uri", s.uri}});
  return {{"gid", s.gid},
          {"status", s.status},
          {"dir", s.dir},
          {"errorMessage", s.error_message},
          {"totalLength", std::to_string(s.total)},
          {"completedLength", std::to_string(s.done)},
          {"downloadSpeed", std::to_string(s.down)},
          {"uploadSpeed", std::to_string(s.up)},
          {"connections", std::to_string(s.connections)},
          {"errorCode", std::to_string(s.error_code)},
          {"seeder", s.seeder ? "true" : "false"},
          {"files", json::array({file})}};
}

namespace {

long long number_text(const std::string& v) {
  long long n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

// A SAX reader of [{"id": N, "result": [STATUS...]} | {"id": N, "error": {...}}, ...]:
// containers are counted by depth (1 the batch, 2 a response, 3 its result list, 4 a status,
// 5 its files, 6 a file, 7 its uris, 8 a uri), with the last key seen at each object depth.
class ListsReader : public nlohmann::json_sax<json> {
 public:
  std::vector<std::pair<long long, std::vector<Status>>> responses;
  std::string error;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<long long>(v)); }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& v) override {
    if (depth_ == 3 && key_[2] == "error" && key_[3] == "message") error = v;
    if (!in_result()) return true;
    if (depth_ == 4) {
      const std::string& k = key_[4];
      if (k == "gid")
        cur_.gid = v;
      else if (k == "status")
        cur_.status = v;
      else if (k == "dir")
        cur_.dir = v;
      else if (k == "errorMessage")
        cur_.error_message = v;
      else if (k == "totalLength")
        cur_.total = number_text(v);
      else if (k == "completedLength")
        cur_.done = number_text(v);
      else if (k == "downloadSpeed")
        cur_.down = number_text(v);
      else if (k == "uploadSpeed")
        cur_.up = number_text(v);
      else if (k == "connections")
        cur_.connections = number_text(v);
      else if (k == "errorCode")
        cur_.error_code = number_text(v);
      else if (k == "seeder")
        cur_.seeder = v == "true";
    } else if (depth_ == 6 && file_ == 0 && key_[4] == "files" && key_[6] == "path") {
      cur_.path = v;
    } else if (depth_ == 8 && file_ == 0 && uri_ == 0 && key_[6] == "uris" && key_[8] == "uri") {
      cur_.uri = v;
    }
    return true;
  }
  bool start_object(std::size_t) override {
    if (++depth_ >= kDepth) return false;
    key_[depth_].clear();
    if (depth_ == 2) responses.emplace_back(-1, std::vector<Status>());
    if (depth_ == 4 && in_result()) cur_ = Status();
    if (depth_ == 6 && in_result()) ++file_;
    if (depth_ == 8 && in_result()) ++uri_;
    return true;
  }
  bool end_object() override {
    if (depth_ == 4 && in_result()) responses.back().second.push_back(std::move(cur_));
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (++depth_ >= kDepth) return false;
    if (depth_ == 3 && key_[2] == "result") in_list_ = true;
    if (depth_ == 5) file_ = -1;
    if (depth_ == 7) uri_ = -1;
    return true;
  }
  bool end_array() override {
    if (depth_ == 3) in_list_ = false;
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    key_[depth_] = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  static constexpr int kDepth = 12;
  bool in_result() const { return in_list_ && depth_ >= 4; }
  bool number(long long v) {
    if (depth_ == 2 && key_[2] == "id") responses.back().first = v;
    return true;
  }
  int depth_ = 0;
  std::string key_[kDepth];
  bool in_list_ = false;
  int file_ = -1, uri_ = -1;
  Status cur_;
};

}  // namespace

std::vector<Status> read_lists(std::string_view reply) {
  ListsReader reader;
  if (!json::sax_parse(reply, &reader))
    throw RpcError(RpcError::Kind::protocol, "aria2's list reply cannot be read");
  if (!reader.error.empty()) throw RpcError(RpcError::Kind::refused, reader.error);
  std::sort(reader.responses.begin(), reader.responses.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Status> out;
  for (auto& [id, list] : reader.responses)
    for (auto& st : list) out.push_back(std::move(st));
  return out;
}

namespace {

// What both shapes share: the name and path aria2 settled on, or else what the record and
// the link say.
struct Where {
  std::string url, name, path;
};

Where where_of(const Status& s, const json& rec) {
  Where w;
  w.url = rec.value("url", "");
  if (w.url.empty()) w.url = s.uri;
  std::string dir = !s.dir.empty() ? s.dir : rec.value("dir", "");
  w.path = s.path;
  w.name =
      !w.path.empty() ? fs::path(w.path).filename().string() : rec.value("out", base_name(w.url));
  if (w.path.empty() && !w.name.empty()) w.path = (fs::path(dir) / w.name).string();
  return w;
}

double progress_of(const Status& s) {
  double p = s.status == "complete" ? 100.0
             : s.total > 0          ? 100.0 * static_cast<double>(s.done) / s.total
                                    : 0.0;
  return std::round(p * 100) / 100;
}

std::string error_text(const Status& s) {
  return s.error_message.empty() ? code_text(s.error_code) : s.error_message;
}

}  // namespace

json download_json(const Status& s, const json& rec) {
  Where w = where_of(s, rec);
  json error = nullptr;
  if (s.status == "error") error = {{"code", s.error_code}, {"message", error_text(s)}};
  auto eta = services::eta_seconds(s.total, s.done, s.down);
  return {{"id", s.gid},
          {"name", w.name},
          {"url", w.url},
          {"state", s.status},
          {"progress", progress_of(s)},
          {"total_length", s.total},
          {"completed_length", s.done},
          {"download_rate", s.down},
          {"upload_rate", s.up},
          {"connections", s.connections},
          {"eta", eta ? json(*eta) : json(nullptr)},
          {"path", w.path.empty() ? json(nullptr) : json(w.path)},
          {"error", error},
          {"created", rec.value("created", json(nullptr))},
          {"finished", rec.value("finished", json(nullptr))}};
}

services::DownloadItem queue_item(const Status& s, const json& rec, bool up) {
  Where w = where_of(s, rec);
  services::DownloadItem it;
  it.service = "aria2";
  it.native_id = s.gid;
  it.kind = "direct";
  it.name = w.name;
  it.state = common_state(s.status, s.seeder);
  it.detail = s.status;
  it.progress = progress_of(s);
  if (s.total > 0) it.total_bytes = s.total;
  it.done_bytes = s.done;
  it.download_rate = s.down;
  it.upload_rate = s.up;
  it.eta = services::eta_seconds(s.total, s.done, s.down);
  if (!w.path.empty()) it.path = w.path;
  if (s.status == "error") {
    it.error_code = "aria2." + std::to_string(s.error_code);
    it.error_message = error_text(s);
  }
  if (rec.contains("created") && rec["created"].is_string()) it.created = rec["created"];
  if (rec.contains("finished") && rec["finished"].is_string()) it.finished = rec["finished"];
  if (up && it.state == "paused")
    it.actions = {"resume", "cancel"};
  else if (up && !services::is_terminal_state(it.state))
    it.actions = {"pause", "cancel"};
  return it;
}

}  // namespace moccha::aria2
