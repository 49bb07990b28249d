#include "api/deluge_api.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <regex>

#include "api/deluge_json.h"
#include "api/work.h"
#include "core/text.h"
#include "files/multipart.h"
#include "files/paths.h"
#include "http/router.h"
#include "services/deluge/deluge_service.h"
#include "services/deluge/rencode.h"
#include "services/deluge/torrent_file.h"

namespace moccha::api {

namespace s = http::schema;
namespace {

using deluge::RpcError;
using http::ApiError;
using http::ApiRequest;
using http::ApiResponse;
using http::Responder;
using nlohmann::json;
using services::ServiceError;

std::string valid_id(const ApiRequest& req) {
  std::string id = req.params.at("torrent_id");
  static const std::regex hex40("^[0-9a-fA-F]{40}$");
  if (!std::regex_match(id, hex40))
    throw ApiError(404, "unknown torrent", "a torrent id is a 40-hex info-hash");
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return id;
}

// ?state=: Deluge's states (deluge.common.TORRENT_STATE) and its filters "Active" (moving data)
// and "All", any case, several separated by commas. A typo is a 400, not an empty list.
json state_filter(const std::string& query) {
  static constexpr std::array<std::string_view, 10> kStates{
      "All",     "Active", "Allocating", "Checking", "Downloading",
      "Seeding", "Paused", "Error",      "Queued",   "Moving"};
  json states = json::array();
  bool all = query.empty();
  std::string_view rest = query;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view word = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto it = std::find_if(kStates.begin(), kStates.end(),
                           [&](std::string_view s) { return iequals(s, word); });
    if (it == kStates.end())
      throw ApiError(400, "unknown torrent state",
                     "'" + std::string(word) +
                         "': one of All, Active, Allocating, Checking, Downloading, Seeding, "
                         "Paused, Error, Queued, Moving");
    if (*it == "All") all = true;
    states.push_back(*it);
  }
  if (all) return json::object();
  return {{"state", states}};
}

json status_of(deluge::RpcClient& rpc, const std::string& id, const json& keys) {
  json s = rpc.call("core.get_torrent_status", json::array({id, keys}));
  if (!s.is_object() || s.empty())
    throw ApiError(404, "unknown torrent", "deluge has no torrent " + id);
  return s;
}

}  // namespace

void add_deluge_routes(http::Router& router, deluge::DelugeService* svc,
                       const files::PathPolicy* paths, Post blocking) {
  // Every call needs the daemon: 503 before anything else when it is not running.
  auto run = [svc, blocking](Responder respond, std::function<ApiResponse(deluge::RpcClient&)> f) {
    answer_on(blocking, std::move(respond), [svc, f = std::move(f)]() -> ApiResponse {
      try {
        auto rpc = svc->rpc();  // held: a concurrent stop cannot free it under the call
        return f(*rpc);
      } catch (const ServiceError& e) {
        return ApiResponse::error(503, "deluge is not running", e.what());
      } catch (const RpcError& e) {
        int status = e.kind == RpcError::Kind::remote ? 400 : 503;
        if (e.remote_type == "InvalidTorrentError") status = 404;
        std::string what = e.what();
        if (e.remote_type == "AddTorrentError" && what.find("already") != std::string::npos) {
          // "Torrent already in session (<id>)."
          std::smatch m;
          ApiResponse conflict = ApiResponse::error(409, "torrent already added", what);
          if (std::regex_search(what, m, std::regex("[0-9a-f]{40}")))
            conflict.json["torrent_id"] = m.str();
          return conflict;
        }
        return ApiResponse::error(status, "deluge refused the request", what);
      } catch (const deluge::RencodeError& e) {
        return ApiResponse::error(502, "unexpected reply from deluged", e.what());
      }
    });
  };

  router.add({"GET", "/services/deluge/torrents",
              [run](ApiRequest& req, Responder respond) {
                json filter = state_filter(req.query_or("state"));
                run(std::move(respond), [filter](deluge::RpcClient& rpc) {
                  // One round trip for the whole list, written out as it is read: no tree.
                  auto reply = rpc.call_raw("core.get_torrents_status",
                                            json::array({filter, torrent_list_keys()}));
                  ApiResponse resp;
                  resp.body = torrent_list_body(reply.result());
                  return resp;
                });
              }},
             {"deluge",
              "Every torrent",
              {{"state", "Keep only torrents in this Deluge state"}},
              nullptr,
              s::reply({{"torrents", s::array(s::object({{"id", s::string()},
                                                         {"name", s::string()},
                                                         {"progress", s::number()},
                                                         {"state", s::string()},
                                                         {"download_rate", s::integer()},
                                                         {"upload_rate", s::integer()},
                                                         {"seeds", s::integer()},
                                                         {"peers", s::integer()},
                                                         {"total_wanted", s::integer()},
                                                         {"total_done", s::integer()},
                                                         {"eta", s::integer()},
                                                         {"ratio", s::number()}},
                                                        {"id", "name", "progress", "state"}))},
                        {"count", s::integer()}},
                       {"torrents", "count"}),
              "",
              {400, 502, 503}});

  router.add(
      {"POST", "/services/deluge/torrents",
       [run, paths](ApiRequest& req, Responder respond) {
         // JSON as the spec has it, or (beyond it) multipart/form-data with the .torrent in a
         // part named "torrent" or "file" and optional download_path/paused fields.
         std::optional<std::string> url, file, dest, uploaded;
         bool paused = false;
         std::string uploaded_name;
         if (auto boundary = files::multipart_boundary(req.headers["content-type"])) {
           std::map<std::string, std::string> fields;
           std::string current;
           files::MultipartParser parser(
               *boundary, {[&](const files::PartHeaders& h) {
                             current = h.name;
                             if (h.filename && (h.name == "torrent" || h.name == "file")) {
                               uploaded = "";
                               uploaded_name = *h.filename;
                             }
                           },
                           [&](const char* p, std::size_t n) {
                             if (current == "torrent" || current == "file") {
                               if (uploaded) uploaded->append(p, n);
                             } else {
                               fields[current].append(p, n);
                             }
                           },
                           [] {}});
           try {
             parser.feed(req.body.data(), req.body.size());
           } catch (const files::MultipartError& e) {
             throw ApiError(400, "malformed multipart body", e.what());
           }
           if (!parser.done()) throw ApiError(400, "malformed multipart body", "it ends early");
           if (!uploaded) throw ApiError(400, "no .torrent part", "name the part 'torrent'");
           if (fields.count("download_path")) dest = fields["download_path"];
           paused = fields["paused"] == "true" || fields["paused"] == "1";
         } else {
           if (!req.body.empty()) {
             req.json = json::parse(req.body, nullptr, false);
             if (req.json.is_discarded()) throw ApiError(400, "malformed JSON");
           }
           url = http::optional_string(req.json, "torrent_url");
           file = http::optional_string(req.json, "torrent_file");
           dest = http::optional_string(req.json, "download_path");
           paused = http::optional_bool(req.json, "paused").value_or(false);
           if (url.has_value() == file.has_value())
             throw ApiError(400, "give exactly one of 'torrent_url' and 'torrent_file'");
         }
         if (dest && !std::filesystem::path(*dest).is_absolute())
           throw ApiError(400, "'download_path' must be an absolute path");
         json options = {{"add_paused", paused}};
         if (dest) options["download_location"] = *dest;
         std::string id, filedump, filename;
         std::filesystem::path local;
         bool magnet = url && url->starts_with("magnet:");
         if (magnet) {
           auto h = deluge::magnet_info_hash(*url);
           if (!h) throw ApiError(400, "malformed magnet link", "it needs xt=urn:btih:HASH");
           id = *h;
         } else if (url) {
           if (!url->starts_with("http://") && !url->starts_with("https://"))
             throw ApiError(400, "'torrent_url' must be a magnet link or an http(s) URL");
         } else if (uploaded) {
           filedump = std::move(*uploaded);
           auto h = deluge::torrent_info_hash(filedump);
           if (!h) throw ApiError(400, "not a torrent file", uploaded_name);
           id = *h;
           filename = uploaded_name.empty() ? id + ".torrent" : uploaded_name;
         } else {
           std::filesystem::path p;
           try {
             p = paths->resolve(*file);
           } catch (const files::Error& e) {
             throw ApiError(e.code == files::Code::forbidden ? 403 : 400,
                            "cannot read the torrent file", e.what());
           }
           local = p;  // read on the pool, not here on the I/O thread
           filename = p.filename().string();
         }
         std::string u = url.value_or("");
         run(std::move(respond), [id, u, magnet, options, filedump, local, filename,
                                  shown = file.value_or("")](deluge::RpcClient& rpc) mutable {
           if (!local.empty()) {
             std::string error;
             auto data = deluge::read_torrent_file(local, error);
             if (!data) throw ApiError(400, "cannot read the torrent file", shown + ": " + error);
             auto h = deluge::torrent_info_hash(*data);
             if (!h) throw ApiError(400, "not a torrent file", shown);
             id = *h;
             filedump = std::move(*data);
           }
           if (!id.empty()) {
             json s = rpc.call("core.get_torrent_status", json::array({id, json::array({"name"})}));
             if (s.is_object() && !s.empty()) {
               ApiResponse conflict = ApiResponse::error(409, "torrent already added", id);
               conflict.json["torrent_id"] = id;
               return conflict;
             }
           }
           json added;
           if (magnet)
             added = rpc.call("core.add_torrent_magnet", json::array({u, options}));
           else if (!u.empty())
             added = rpc.call("core.add_torrent_url", json::array({u, options}));
           else
             added = rpc.call("core.add_torrent_file",
                              json::array({filename, deluge::base64(filedump), options}));
           std::string tid = added.is_string() ? added.get<std::string>() : id;
           if (tid.empty()) throw ApiError(400, "deluge did not add the torrent");
           return ApiResponse::ok(
               {{"success", true}, {"message", "Torrent added successfully"}, {"torrent_id", tid}});
         });
       },
       http::BodyKind::raw},
      {"deluge",
       "Add a torrent: a magnet or http(s) URL, a .torrent path, or (multipart) the file itself",
       {},
       s::object({{"torrent_url", s::string()},
                  {"torrent_file", s::string()},
                  {"download_path", s::string()},
                  {"paused", s::boolean()}}),
       s::reply({{"message", s::string()}, {"torrent_id", s::string()}}, {"torrent_id"}),
       "",
       {403, 404, 409, 502, 503},
       {{"torrent_url", "magnet:?xt=urn:btih:example"}}});

  router.add({"GET", "/services/deluge/torrents/{torrent_id}",
              [run](ApiRequest& req, Responder respond) {
                std::string id = valid_id(req);
                run(std::move(respond), [id](deluge::RpcClient& rpc) {
                  json keys = torrent_list_keys();
                  for (const char* k : {"files", "file_progress", "trackers", "peers",
                                        "tracker_host", "tracker_status"})
                    keys.push_back(k);
                  json s = status_of(rpc, id, keys);
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
                    trackers.push_back(
                        {{"url", url},
                         {"tier", tr.value("tier", 0)},
                         {"status", current ? s.value("tracker_status", "") : std::string()}});
                  }
                  json peers = json::array();
                  for (const auto& p : s.value("peers", json::array()))
                    peers.push_back(peer_json(p));
                  t["files"] = files;
                  t["trackers"] = trackers;
                  t["peers"] = peers;
                  return ApiResponse::ok({{"success", true}, {"torrent", t}});
                });
              }},
             {"deluge",
              "One torrent in detail: files, trackers",
              {},
              nullptr,
              s::reply({{"torrent", s::object({})}}, {"torrent"}),
              "",
              {400, 404, 502, 503}});

  for (const char* action : {"pause", "resume"}) {
    std::string verb = action;
    router.add(
        {"POST", "/services/deluge/torrents/{torrent_id}/" + verb,
         [run, verb](ApiRequest& req, Responder respond) {
           std::string id = valid_id(req);
           run(std::move(respond), [id, verb](deluge::RpcClient& rpc) {
             status_of(rpc, id, json::array({"name"}));
             rpc.call("core." + verb + "_torrent", json::array({id}));
             return ApiResponse::ok(
                 {{"success", true},
                  {"message", "Torrent " + id + (verb == "pause" ? " paused" : " resumed")}});
           });
         }},
        {"deluge",
         "Pause or resume a torrent (" + verb + ")",
         {},
         nullptr,
         s::reply({{"message", s::string()}}, {"message"}),
         "",
         {400, 404, 502, 503}});
  }

  router.add(
      {"POST", "/services/deluge/torrents/{torrent_id}/remove",
       [run](ApiRequest& req, Responder respond) {
         std::string id = valid_id(req);
         bool remove_data = http::optional_bool(req.json, "remove_data").value_or(false);
         run(std::move(respond), [id, remove_data](deluge::RpcClient& rpc) {
           status_of(rpc, id, json::array({"name"}));
           rpc.call("core.remove_torrent", json::array({id, remove_data}));
           return ApiResponse::ok({{"success", true}, {"message", "Torrent " + id + " removed"}});
         });
       },
       http::BodyKind::json},
      {"deluge",
       "Remove a torrent, with its data if asked",
       {},
       s::object({{"remove_data", s::boolean()}}),
       s::reply({{"message", s::string()}}, {"message"}),
       "",
       {404, 502, 503},
       {{"remove_data", false}}});

  router.add(
      {"GET", "/services/deluge/stats",
       [run](ApiRequest&, Responder respond) {
         run(std::move(respond), [](deluge::RpcClient& rpc) {
           json s = rpc.call(
               "core.get_session_status",
               json::array(
                   {json::array({"upload_rate", "download_rate", "dht_nodes", "payload_upload_rate",
                                 "payload_download_rate", "peer.num_peers_connected",
                                 "peer.num_tcp_peers", "peer.num_utp_peers"})}));
           auto n = [&](const char* k) { return static_cast<long long>(number_field(s, k)); };
           return ApiResponse::ok(
               {{"success", true},
                {"stats",
                 {{"upload_rate", n("upload_rate")},
                  {"download_rate", n("download_rate")},
                  {"dht_nodes", n("dht_nodes")},
                  {"num_peers", n("peer.num_peers_connected")},
                  {"num_connections", n("peer.num_tcp_peers") + n("peer.num_utp_peers")},
                  {"payload_upload_rate", n("payload_upload_rate")},
                  {"payload_download_rate", n("payload_download_rate")}}}});
         });
       }},
      {"deluge",
       "Deluge's session: rates, peers, connections",
       {},
       nullptr,
       s::reply(
           {{"stats", s::object({{"download_rate", s::integer()}, {"upload_rate", s::integer()}})}},
           {"stats"}),
       "",
       {502, 503}});

  router.add(
      {"GET", "/services/deluge/peers/{torrent_id}",
       [run](ApiRequest& req, Responder respond) {
         std::string id = valid_id(req);
         run(std::move(respond), [id](deluge::RpcClient& rpc) {
           json s = status_of(rpc, id, json::array({"peers"}));
           json peers = json::array();
           for (const auto& p : s.value("peers", json::array())) peers.push_back(peer_json(p));
           return ApiResponse::ok({{"success", true}, {"peers", peers}, {"count", peers.size()}});
         });
       }},
      {"deluge",
       "A torrent's peers",
       {},
       nullptr,
       s::reply({{"peers", s::array(s::object({}))}, {"count", s::integer()}}, {"peers", "count"}),
       "",
       {400, 404, 502, 503}});
}

}  // namespace moccha::api
