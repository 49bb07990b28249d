#include "services/downloads.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <memory>
#include <set>
#include <string_view>

#include "core/json_text.h"
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

void append_item_json(std::string& out, const DownloadItem& d, bool with_actions) {
  auto key = [&out](const char* k) {
    out += ",\"";
    out += k;
    out += "\":";
  };
  auto text = [&](const char* k, std::string_view v) {
    key(k);
    append_json_string(out, v);
  };
  auto maybe_text = [&](const char* k, const std::optional<std::string>& v) {
    if (v)
      text(k, *v);
    else
      key(k), out += "null";
  };
  auto integer = [&](const char* k, std::optional<long long> v) {
    key(k);
    if (v)
      append_json_integer(out, *v);
    else
      out += "null";
  };
  out += "{\"id\":";
  append_json_string(out, d.service + ":" + d.native_id);
  text("service", d.service);
  text("kind", d.kind);
  text("direction", d.direction);
  text("name", d.name);
  text("state", d.state);
  text("detail", d.detail);
  key("progress");
  append_json_real(out, d.progress);
  integer("total_bytes", d.total_bytes);
  integer("done_bytes", d.done_bytes);
  integer("download_rate", d.download_rate);
  integer("upload_rate", d.upload_rate);
  integer("eta", d.eta);
  maybe_text("path", d.path);
  key("error");
  if (d.error_code) {
    out += "{\"code\":";
    append_json_string(out, *d.error_code);
    out += ",\"message\":";
    append_json_string(out, d.error_message.value_or(""));
    out += '}';
  } else {
    out += "null";
  }
  maybe_text("created", d.created);
  maybe_text("finished", d.finished);
  key("actions");
  out += '[';
  if (with_actions)
    for (std::size_t i = 0; i < d.actions.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, d.actions[i]);
    }
  out += "]}";
}

std::optional<long long> eta_seconds(double total, double done, double rate) {
  if (total <= 0 || rate <= 0 || done >= total) return std::nullopt;
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

std::string DownloadQueue::list_body(const std::string& states, const std::string& services) {
  auto want_states = comma_list(states);
  for (const auto& s : want_states)
    if (!is_download_state(s))
      throw ServiceError(ServiceError::Kind::invalid,
                         "unknown state '" + s +
                             "': one of queued, resolving, active, paused, verifying, seeding, "
                             "completed, failed, canceled");
  auto want_services = comma_list(services);
  for (const auto& s : want_services) source(s);  // throws for an unknown one
  std::vector<DownloadSource*> asked;
  for (auto* src : sources_)
    if (want_services.empty() || want_services.count(src->service())) asked.push_back(src);
  std::string items;
  std::size_t count = 0;
  for (const Answer& a : ask(asked, true)) {
    if (!a.items) continue;
    for (const auto& item : *a.items) {
      if (!want_states.empty() && !want_states.count(item.state)) continue;
      if (count++) items += ',';
      append_item_json(items, item, !a.stale);
    }
  }
  return "{\"count\":" + std::to_string(count) + ",\"downloads\":[" + items +
         "],\"success\":true}\n";
}

std::vector<DownloadQueue::Answer> DownloadQueue::ask(const std::vector<DownloadSource*>& asked,
                                                      bool rethrow) {
  // Every engine at once: the answer costs the slowest engine's, not their sum.
  using Items = std::shared_ptr<const std::vector<DownloadItem>>;
  auto fetch = [](DownloadSource* src) {
    return std::make_shared<const std::vector<DownloadItem>>(src->items());
  };
  std::vector<std::future<Items>> pending;
  for (std::size_t i = 1; i < asked.size(); ++i)
    pending.push_back(std::async(std::launch::async, fetch, asked[i]));
  std::vector<Answer> out;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    Answer a{asked[i]->service(), nullptr, false};
    try {
      a.items = i == 0 ? fetch(asked[0]) : pending[i - 1].get();
      std::lock_guard lock(mu_);
      last_[a.service] = a.items;  // shared, not copied
    } catch (const ServiceError& e) {
      if (rethrow && e.kind != ServiceError::Kind::unavailable) throw;  // the futures wait
      // A stopped engine: what it last said, with nothing to be done to it now.
      std::lock_guard lock(mu_);
      a.items = last_[a.service];
      a.stale = true;
    } catch (const std::exception&) {
      if (rethrow) throw;
      a.stale = true;
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<DownloadQueue::EngineSummary> DownloadQueue::summary() {
  std::vector<EngineSummary> out;
  for (const Answer& a : ask(sources_, false)) {
    if (a.stale || !a.items) continue;
    EngineSummary s{a.service};
    for (const auto& item : *a.items) {
      s.download_rate += item.download_rate;
      s.upload_rate += item.upload_rate;
      s.active += item.state == "active" || item.state == "resolving" || item.state == "verifying";
      s.queued += item.state == "queued";
      s.seeding += item.state == "seeding";
    }
    out.push_back(std::move(s));
  }
  return out;
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
