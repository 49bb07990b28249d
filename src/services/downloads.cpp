#include "services/downloads.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>

#include "core/log.h"
#include "services/service.h"

namespace moccha::services {

using json = nlohmann::json;

namespace {

std::set<std::string> comma_list(const std::string& text) {
  std::set<std::string> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view word = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (!word.empty()) out.emplace(word);
  }
  return out;
}

std::string scheme_of(const std::string& url) {
  auto colon = url.find(':');
  if (colon == std::string::npos) return {};
  std::string s = url.substr(0, colon);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

bool is_download_state(const std::string& s) {
  return std::any_of(std::begin(kDownloadStates), std::end(kDownloadStates),
                     [&](const char* k) { return s == k; });
}

bool is_terminal_state(const std::string& s) {
  return s == "completed" || s == "failed" || s == "canceled";
}

json download_item(const std::string& service, const std::string& native_id,
                   const std::string& kind) {
  return {{"id", service + ":" + native_id},
          {"service", service},
          {"kind", kind},
          {"direction", "down"},
          {"name", ""},
          {"state", "queued"},
          {"detail", ""},
          {"progress", 0},
          {"total_bytes", nullptr},
          {"done_bytes", 0},
          {"download_rate", 0},
          {"upload_rate", 0},
          {"eta", nullptr},
          {"path", nullptr},
          {"error", nullptr},
          {"created", nullptr},
          {"finished", nullptr},
          {"actions", json::array()}};
}

json eta_seconds(double total, double done, double rate) {
  if (total <= 0 || rate <= 0 || done >= total) return nullptr;
  return static_cast<long long>(std::ceil((total - done) / rate));
}

void DownloadQueue::add_source(DownloadSource* source) {
  sources_.push_back(source);
}

DownloadSource& DownloadQueue::source(const std::string& service) {
  for (auto* s : sources_)
    if (s->service() == service) return *s;
  std::string names;
  for (auto* s : sources_) names += (names.empty() ? "" : ", ") + s->service();
  throw ServiceError(ServiceError::Kind::invalid,
                     "unknown download service '" + service + "': one of " + names);
}

json DownloadQueue::list(const std::string& states, const std::string& services) {
  auto want_states = comma_list(states);
  for (const auto& s : want_states)
    if (!is_download_state(s))
      throw ServiceError(ServiceError::Kind::invalid,
                         "unknown state '" + s +
                             "': one of queued, resolving, active, paused, verifying, seeding, "
                             "completed, failed, canceled");
  auto want_services = comma_list(services);
  for (const auto& s : want_services) source(s);  // throws for an unknown one
  json out = json::array();
  for (auto* src : sources_) {
    std::string name = src->service();
    if (!want_services.empty() && !want_services.count(name)) continue;
    std::vector<json> items;
    try {
      items = src->items();
      std::lock_guard lock(mu_);
      last_[name] = items;
    } catch (const ServiceError& e) {
      if (e.kind != ServiceError::Kind::unavailable) throw;
      // A stopped engine: what it last said, with nothing to be done to it now.
      std::lock_guard lock(mu_);
      items = last_[name];
      for (auto& item : items) item["actions"] = json::array();
    }
    for (auto& item : items)
      if (want_states.empty() || want_states.count(item.value("state", "")))
        out.push_back(std::move(item));
  }
  std::size_t n = out.size();
  return {{"success", true}, {"downloads", std::move(out)}, {"count", n}};
}

json DownloadQueue::add(const json& request) {
  if (!request.is_object() || !request.contains("url") || !request["url"].is_string() ||
      request["url"].get<std::string>().empty())
    throw ServiceError(ServiceError::Kind::invalid, "'url' (a link) is required");
  std::string url = request["url"].get<std::string>();
  DownloadSource* target = nullptr;
  if (request.contains("service")) {
    if (!request["service"].is_string())
      throw ServiceError(ServiceError::Kind::invalid, "'service' must be a string");
    target = &source(request["service"].get<std::string>());
  } else {
    for (auto* s : sources_)
      if (s->takes(url)) {
        target = s;
        break;
      }
  }
  if (!target)
    throw ServiceError(ServiceError::Kind::invalid,
                       "no download service takes '" + scheme_of(url) +
                           ":' links: give a magnet link, a .torrent URL, or an http(s), ftp or "
                           "sftp link (or name the 'service')");
  std::string id = target->add(request);
  return {{"success", true}, {"id", target->service() + ":" + id}, {"service", target->service()}};
}

void DownloadQueue::act(const std::string& id, const std::string& action) {
  auto colon = id.find(':');
  if (colon == std::string::npos)
    throw ServiceError(ServiceError::Kind::not_found,
                       "unknown download '" + id + "': an id is SERVICE:NATIVE_ID");
  std::string service = id.substr(0, colon);
  DownloadSource* src = nullptr;
  for (auto* s : sources_)
    if (s->service() == service) src = s;
  if (!src) throw ServiceError(ServiceError::Kind::not_found, "unknown download '" + id + "'");
  src->act(id.substr(colon + 1), action);
}

}  // namespace moccha::services
