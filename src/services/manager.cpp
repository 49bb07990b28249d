#include "services/manager.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "services/events.h"
#include "store/files.h"

namespace moccha::services {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool same_type(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return true;
  return a.type() == b.type();
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  return json::parse(in, nullptr, false);
}

}  // namespace

ServiceManager::ServiceManager(std::string data_dir, std::vector<std::unique_ptr<Service>> services,
                               EventBus* events)
    : data_dir_(std::move(data_dir)), events_(events) {
  for (auto& s : services) {
    std::string name = s->name();
    order_.push_back(name);
    auto e = std::make_unique<Entry>();
    e->service = std::move(s);
    entries_[name] = std::move(e);
  }
  fs::path file = fs::path(data_dir_) / "services_config.json";
  json stored = read_json(file);
  if (stored.is_discarded()) {
    log::error("{} is not valid JSON; kept as {}.bad, defaults in use", file.string(),
               file.string());
    std::error_code ec;
    fs::rename(file, file.string() + ".bad", ec);
    stored = nullptr;
  }
  config_ = json::object();
  for (const auto& name : order_) {
    json merged = entries_[name]->service->defaults();
    if (stored.is_object() && stored.contains("services") && stored["services"].contains(name) &&
        stored["services"][name].is_object()) {
      // Each stored value is checked as an update would be: a hand-edited bad one (a relative
      // path, a port of 0) is logged and its default kept, the rest taken.
      for (const auto& [k, v] : stored["services"][name].items()) {
        if (!merged.contains(k) || !same_type(merged[k], v)) continue;
        json candidate = merged;
        candidate[k] = v;
        try {
          entries_[name]->service->validate(candidate);
          merged = std::move(candidate);
        } catch (const ServiceError& e) {
          log::error("{}: {}: {}; the default is kept", file.string(), name, e.what());
        }
      }
    }
    config_[name] = std::move(merged);
  }
  {
    std::lock_guard lock(config_mu_);
    save_config_locked();  // defaults filled in for every missing key
  }
  json running = read_json(fs::path(data_dir_) / "services_state.json");
  if (running.is_object() && running["running"].is_array())
    for (const auto& n : running["running"])
      if (n.is_string()) was_running_.push_back(n.get<std::string>());
}

ServiceManager::~ServiceManager() {
  {
    std::lock_guard lock(sup_mu_);
    stop_supervisor_ = true;
  }
  sup_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
}

std::vector<std::string> ServiceManager::names() const {
  return order_;
}

std::vector<LogFile> ServiceManager::logs() const {
  std::vector<LogFile> out;
  for (const auto& name : order_)
    for (auto& f : entries_.at(name)->service->logs()) out.push_back(std::move(f));
  return out;
}

bool ServiceManager::has(const std::string& name) const {
  return entries_.count(name) > 0;
}

ServiceManager::Entry& ServiceManager::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw ServiceError(ServiceError::Kind::not_found, "unknown service '" + name + "'");
  return *it->second;
}

json ServiceManager::status(const std::string& name) {
  Entry& e = entry(name);
  return e.service->status();
}

json ServiceManager::status_all() {
  json out = json::object();
  for (const auto& name : order_) out[name] = status(name);
  return out;
}

json ServiceManager::start(const std::string& name, const json& request) {
  Entry& e = entry(name);
  std::lock_guard op(e.op);
  if (e.service->running()) {
    json st = e.service->status();
    return {{"message", name + " is already running"},
            {"result",
             {{"pid", st.value("pid", json())},
              {"host", st.value("host", json())},
              {"port", st.value("port", json())},
              {"managed", st.value("managed", json())}}}};
  }
  json result = request.is_object() ? e.service->start_with(config(name), request)
                                    : e.service->start(config(name));
  save_running();
  publish("service.started", name, result);
  return {{"message", name + " started successfully"}, {"result", result}};
}

json ServiceManager::stop(const std::string& name) {
  Entry& e = entry(name);
  std::lock_guard op(e.op);
  bool was = e.service->running();
  e.service->stop();
  save_running();
  if (was) publish("service.stopped", name, nullptr);
  return {{"message", was ? name + " stopped" : name + " was not running"}};
}

json ServiceManager::restart(const std::string& name, const json& request) {
  Entry& e = entry(name);
  std::lock_guard op(e.op);
  bool was = e.service->running();
  e.service->stop();
  if (was) publish("service.stopped", name, nullptr);
  json result = request.is_object() ? e.service->start_with(config(name), request)
                                    : e.service->start(config(name));
  save_running();
  publish("service.started", name, result);
  return {{"message", name + " restarted"}, {"result", result}};
}

json ServiceManager::config(const std::string& name) const {
  entry(name);
  std::lock_guard lock(config_mu_);
  return config_[name];
}

json ServiceManager::shown_config(const std::string& name) const {
  json c = config(name);
  for (const auto& k : entry(name).service->secrets())
    if (c.contains(k) && c[k].is_string() && !c[k].get<std::string>().empty()) c[k] = kSecretMask;
  return c;
}

json ServiceManager::shown_config_all() const {
  json out = json::object();
  for (const auto& name : order_) out[name] = shown_config(name);
  return out;
}

void ServiceManager::publish(const char* type, const std::string& name, const json& result) {
  if (!events_) return;
  json fields = {{"service", name}, {"id", nullptr}};
  if (result.is_object() && result.contains("pid")) fields["pid"] = result["pid"];
  events_->publish(type, std::move(fields));
}

std::vector<std::string> ServiceManager::update(const std::string& name, const json& changes) {
  Entry& e = entry(name);
  if (!changes.is_object() || changes.empty())
    throw ServiceError(ServiceError::Kind::invalid, "'config' must be a non-empty object");
  std::lock_guard op(e.op);
  json before, after;
  {
    std::lock_guard lock(config_mu_);
    before = config_[name];
  }
  after = before;
  auto secrets = e.service->secrets();
  for (const auto& [k, v] : changes.items()) {
    if (!before.contains(k))
      throw ServiceError(ServiceError::Kind::invalid, "unknown key '" + k + "' for " + name);
    if (v == kSecretMask && std::find(secrets.begin(), secrets.end(), k) != secrets.end())
      continue;  // the mask sent back: the secret stays as it is
    if (!same_type(before[k], v))
      throw ServiceError(ServiceError::Kind::invalid,
                         "key '" + k + "' must be a " + std::string(before[k].type_name()));
    after[k] = v;
  }
  e.service->validate(after);  // throws: nothing written, nothing applied
  {
    std::lock_guard lock(config_mu_);
    config_[name] = after;
    save_config_locked();
  }
  if (!e.service->running()) return {};
  return e.service->apply(before, after);
}

void ServiceManager::save_config_locked() const {
  json doc = {{"services", config_}};
  store::write_file_atomic(fs::path(data_dir_) / "services_config.json", doc.dump(2) + "\n", 0600);
}

void ServiceManager::save_running() const {
  json running = json::array();
  for (const auto& name : order_)
    if (entries_.at(name)->service->running()) running.push_back(name);
  try {
    store::write_file_atomic(fs::path(data_dir_) / "services_state.json",
                             json({{"running", running}}).dump() + "\n", 0600);
  } catch (const std::exception& e) {
    log::error("cannot record running services: {}", e.what());
  }
}

void ServiceManager::autostart() {
  for (const auto& name : was_running_) {
    if (!has(name)) continue;
    json cfg = config(name);
    if (!cfg.value("autostart", true) || !cfg.value("enabled", true)) continue;
    try {
      log::info("autostart: starting {} (it was running when the agent stopped)", name);
      start(name);
    } catch (const std::exception& e) {
      log::error("autostart of {} failed: {}", name, e.what());
    }
  }
}

void ServiceManager::start_supervisor() {
  supervisor_ = std::thread([this] {
    std::unique_lock lock(sup_mu_);
    while (!sup_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_supervisor_; })) {
      lock.unlock();
      for (const auto& name : order_) {
        Entry& e = *entries_.at(name);
        std::unique_lock op(e.op, std::try_to_lock);  // busy: a start/stop is under way
        if (!op.owns_lock()) continue;
        // A service's failure (a full disk, a daemon's bad reply) is its own: it must not
        // end this thread, which would end the agent.
        try {
          e.service->supervise();
        } catch (const std::exception& x) {
          log::error("supervising {}: {}", name, x.what());
        }
      }
      lock.lock();
    }
  });
}

void ServiceManager::shutdown() {
  {
    std::lock_guard lock(sup_mu_);
    stop_supervisor_ = true;
  }
  sup_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  json running = json::array();
  for (const auto& name : order_) {
    Entry& e = *entries_.at(name);
    std::lock_guard op(e.op);
    if (!e.service->running()) continue;
    running.push_back(name);
    log::info("stopping {} (agent shutdown)", name);
    try {
      e.service->stop();
    } catch (const std::exception& ex) {
      log::error("stopping {}: {}", name, ex.what());
    }
  }
  try {
    store::write_file_atomic(fs::path(data_dir_) / "services_state.json",
                             json({{"running", running}}).dump() + "\n", 0600);
  } catch (const std::exception& e) {
    log::error("cannot record running services: {}", e.what());
  }
}

}  // namespace moccha::services
