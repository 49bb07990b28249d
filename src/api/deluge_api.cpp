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
namespace deluge_routes {
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

struct Deps {
  deluge::DelugeService* svc;
  const files::PathPolicy* paths;
  Post blocking;
};
using D = std::shared_ptr<const Deps>;
using Call = std::function<ApiResponse(deluge::RpcClient&)>;

// Every call needs the daemon: 503 before anything else when it is not running. Deluge's
// refusals are mapped here, once: an unknown torrent 404, one already added 409.
void with_rpc(const D& d, Responder respond, Call f) {
  answer_on(d->blocking, std::move(respond), [svc = d->svc, f = std::move(f)]() -> ApiResponse {
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
}

// What POST /services/deluge/torrents asks for, read and checked on the I/O thread; a
// .torrent named by path is read on the pool.
struct AddRequest {
  std::string id;  // the info-hash, when known before asking deluged
  std::string url;
  bool magnet = false;
  json options;
  std::string filedump, filename, shown;
  std::filesystem::path local;
};

// multipart/form-data with the .torrent in a part named "torrent" or "file" and optional
// download_path/paused fields (beyond the spec, which has JSON only).
void read_multipart_add(const ApiRequest& req, const std::string& boundary, AddRequest& a,
                        std::optional<std::string>& dest, bool& paused) {
  std::map<std::string, std::string> fields;
  std::string current;
  std::optional<std::string> uploaded;
  std::string uploaded_name;
  files::MultipartParser parser(boundary,
                                {[&](const files::PartHeaders& h) {
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
  auto h = deluge::torrent_info_hash(*uploaded);
  if (!h) throw ApiError(400, "not a torrent file", uploaded_name);
  a.id = *h;
  a.filedump = std::move(*uploaded);
  a.filename = uploaded_name.empty() ? a.id + ".torrent" : uploaded_name;
}

AddRequest read_add(const Deps& d, ApiRequest& req) {
  AddRequest a;
  std::optional<std::string> dest;
  bool paused = false;
  if (auto boundary = files::multipart_boundary(req.headers["content-type"])) {
    read_multipart_add(req, *boundary, a, dest, paused);
  } else {
    if (!req.body.empty()) {
      req.json = json::parse(req.body, nullptr, false);
      if (req.json.is_discarded()) throw ApiError(400, "malformed JSON");
    }
    auto url = http::optional_string(req.json, "torrent_url");
    auto file = http::optional_string(req.json, "torrent_file");
    dest = http::optional_string(req.json, "download_path");
    paused = http::optional_bool(req.json, "paused").value_or(false);
    if (url.has_value() == file.has_value())
      throw ApiError(400, "give exactly one of 'torrent_url' and 'torrent_file'");
    if (url) {
      a.url = *url;
      a.magnet = url->starts_with("magnet:");
      if (a.magnet) {
        auto h = deluge::magnet_info_hash(*url);
        if (!h) throw ApiError(400, "malformed magnet link", "it needs xt=urn:btih:HASH");
        a.id = *h;
      } else if (!url->starts_with("http://") && !url->starts_with("https://")) {
        throw ApiError(400, "'torrent_url' must be a magnet link or an http(s) URL");
      }
    } else {
      try {
        a.local = d.paths->resolve(*file);  // read on the pool, not here on the I/O thread
      } catch (const files::Error& e) {
        throw ApiError(e.code == files::Code::forbidden ? 403 : 400, "cannot read the torrent file",
                       e.what());
      }
      a.filename = a.local.filename().string();
      a.shown = *file;
    }
  }
  if (dest && !std::filesystem::path(*dest).is_absolute())
    throw ApiError(400, "'download_path' must be an absolute path");
  a.options = {{"add_paused", paused}};
  if (dest) a.options["download_location"] = *dest;
  return a;
}

ApiResponse add_to_deluge(AddRequest a, deluge::RpcClient& rpc) {
  if (!a.local.empty()) {
    std::string error;
    auto data = deluge::read_torrent_file(a.local, error);
    if (!data) throw ApiError(400, "cannot read the torrent file", a.shown + ": " + error);
    auto h = deluge::torrent_info_hash(*data);
    if (!h) throw ApiError(400, "not a torrent file", a.shown);
    a.id = *h;
    a.filedump = std::move(*data);
  }
  if (!a.id.empty()) {
    json s = rpc.call("core.get_torrent_status", json::array({a.id, json::array({"name"})}));
    if (s.is_object() && !s.empty()) {
      ApiResponse conflict = ApiResponse::error(409, "torrent already added", a.id);
      conflict.json["torrent_id"] = a.id;
      return conflict;
    }
  }
  json added;
  if (a.magnet)
    added = rpc.call("core.add_torrent_magnet", json::array({a.url, a.options}));
  else if (!a.url.empty())
    added = rpc.call("core.add_torrent_url", json::array({a.url, a.options}));
  else
    added = rpc.call("core.add_torrent_file",
                     json::array({a.filename, deluge::base64(a.filedump), a.options}));
  std::string tid = added.is_string() ? added.get<std::string>() : a.id;
  if (tid.empty()) throw ApiError(400, "deluge did not add the torrent");
  return ApiResponse::ok(
      {{"success", true}, {"message", "Torrent added successfully"}, {"torrent_id", tid}});
}

// The handlers, one per route: each checks what it can on the I/O thread, then asks deluged.

void list(const D& d, ApiRequest& req, Responder respond) {
  json filter = state_filter(req.query_or("state"));
  with_rpc(d, std::move(respond), [filter](deluge::RpcClient& rpc) {
    // One round trip for the whole list, written out as it is read: no tree.
    auto reply =
        rpc.call_raw("core.get_torrents_status", json::array({filter, torrent_list_keys()}));
    ApiResponse resp;
    resp.body = torrent_list_body(reply.result());
    return resp;
  });
}

void add(const D& d, ApiRequest& req, Responder respond) {
  AddRequest a = read_add(*d, req);
  with_rpc(d, std::move(respond),
           [a = std::move(a)](deluge::RpcClient& rpc) { return add_to_deluge(a, rpc); });
}

void details(const D& d, ApiRequest& req, Responder respond) {
  std::string id = valid_id(req);
  with_rpc(d, std::move(respond), [id](deluge::RpcClient& rpc) {
    json status = status_of(rpc, id, torrent_detail_keys());
    return ApiResponse::ok({{"success", true}, {"torrent", torrent_detail_json(id, status)}});
  });
}

void set_paused(const D& d, ApiRequest& req, Responder respond, bool paused) {
  std::string id = valid_id(req);
  with_rpc(d, std::move(respond), [id, paused](deluge::RpcClient& rpc) {
    status_of(rpc, id, json::array({"name"}));
    rpc.call(paused ? "core.pause_torrent" : "core.resume_torrent", json::array({id}));
    return ApiResponse::ok(
        {{"success", true}, {"message", "Torrent " + id + (paused ? " paused" : " resumed")}});
  });
}

void pause(const D& d, ApiRequest& req, Responder respond) {
  set_paused(d, req, std::move(respond), true);
}

void resume(const D& d, ApiRequest& req, Responder respond) {
  set_paused(d, req, std::move(respond), false);
}

void remove(const D& d, ApiRequest& req, Responder respond) {
  std::string id = valid_id(req);
  bool remove_data = http::optional_bool(req.json, "remove_data").value_or(false);
  with_rpc(d, std::move(respond), [id, remove_data](deluge::RpcClient& rpc) {
    status_of(rpc, id, json::array({"name"}));
    rpc.call("core.remove_torrent", json::array({id, remove_data}));
    return ApiResponse::ok({{"success", true}, {"message", "Torrent " + id + " removed"}});
  });
}

void stats(const D& d, ApiRequest&, Responder respond) {
  with_rpc(d, std::move(respond), [](deluge::RpcClient& rpc) {
    json status = rpc.call("core.get_session_status", json::array({session_keys()}));
    return ApiResponse::ok({{"success", true}, {"stats", session_json(status)}});
  });
}

void peers(const D& d, ApiRequest& req, Responder respond) {
  std::string id = valid_id(req);
  with_rpc(d, std::move(respond), [id](deluge::RpcClient& rpc) {
    json s = status_of(rpc, id, json::array({"peers"}));
    json list = json::array();
    for (const auto& p : s.value("peers", json::array())) list.push_back(peer_json(p));
    return ApiResponse::ok({{"success", true}, {"peers", list}, {"count", list.size()}});
  });
}

}  // namespace
}  // namespace deluge_routes

void add_deluge_routes(http::Router& router, deluge::DelugeService* svc,
                       const files::PathPolicy* paths, Post blocking) {
  using namespace deluge_routes;
  auto deps = std::make_shared<const Deps>(Deps{svc, paths, std::move(blocking)});
  auto bound = [&deps](auto f) { return handler(deps, f); };
  const json message = s::reply({{"message", s::string()}}, {"message"});

  router.add({"GET", "/services/deluge/torrents", bound(list)},
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
      {"POST", "/services/deluge/torrents", bound(add), http::BodyKind::raw},
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
  router.add({"GET", "/services/deluge/torrents/{torrent_id}", bound(details)},
             {"deluge",
              "One torrent in detail: files, trackers",
              {},
              nullptr,
              s::reply({{"torrent", s::object({})}}, {"torrent"}),
              "",
              {400, 404, 502, 503}});
  router.add({"POST", "/services/deluge/torrents/{torrent_id}/pause", bound(pause)},
             {"deluge", "Pause a torrent", {}, nullptr, message, "", {400, 404, 502, 503}});
  router.add({"POST", "/services/deluge/torrents/{torrent_id}/resume", bound(resume)},
             {"deluge", "Resume a torrent", {}, nullptr, message, "", {400, 404, 502, 503}});
  router.add({"POST", "/services/deluge/torrents/{torrent_id}/remove", bound(remove),
              http::BodyKind::json},
             {"deluge",
              "Remove a torrent, with its data if asked",
              {},
              s::object({{"remove_data", s::boolean()}}),
              message,
              "",
              {404, 502, 503},
              {{"remove_data", false}}});
  router.add(
      {"GET", "/services/deluge/stats", bound(stats)},
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
      {"GET", "/services/deluge/peers/{torrent_id}", bound(peers)},
      {"deluge",
       "A torrent's peers",
       {},
       nullptr,
       s::reply({{"peers", s::array(s::object({}))}, {"count", s::integer()}}, {"peers", "count"}),
       "",
       {400, 404, 502, 503}});
}

}  // namespace moccha::api
