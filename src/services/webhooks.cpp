#include "services/webhooks.h"

#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "core/hex.h"
#include "core/http_client.h"
#include "core/log.h"
#include "services/events.h"

namespace moccha::services {

using json = nlohmann::json;

std::string hmac_sha256_hex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return to_hex(std::string_view(reinterpret_cast<char*>(mac), len));
}

json webhook_payload(const Event& e) {
  if (e.type != "download.finished") return nullptr;
  const json& d = e.data;
  std::string service = d.value("service", "");
  if (service == "deluge")
    return {{"event", "torrent_finished"},         {"torrent_id", d.value("native_id", "")},
            {"name", d.value("name", "")},         {"size", d.value("size", 0LL)},
            {"download_path", d.value("dir", "")}, {"time", d.value("time", "")}};
  return {{"event", "download_finished"}, {"service", service},
          {"id", d.value("id", "")},      {"name", d.value("name", "")},
          {"size", d.value("size", 0LL)}, {"path", d.value("path", "")},
          {"time", d.value("time", "")}};
}

Webhooks::Webhooks(EventBus& bus, ConfigOf config_of)
    : bus_(bus), config_of_(std::move(config_of)), thread_([this] { loop(); }) {
  subscription_ = bus_.subscribe([this](const Event& e) { on_event(e); });
}

void Webhooks::on_event(const Event& e) {
  json payload = webhook_payload(e);
  if (payload.is_null() || !config_of_) return;
  json config = config_of_(e.data.value("service", ""));
  if (!config.is_object() || !config.contains("webhooks")) return;
  auto urls = config["webhooks"].get<std::vector<std::string>>();
  if (urls.empty()) return;
  log::info("{} {} finished: notifying {} webhook(s)", e.data.value("service", ""),
            e.data.value("id", ""), urls.size());
  send(urls, config.value("webhook_secret", ""), payload);
}

Webhooks::~Webhooks() {
  bus_.unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Webhooks::send(const std::vector<std::string>& urls, const std::string& secret,
                    const nlohmann::json& payload) {
  std::string body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  {
    std::lock_guard lock(mu_);
    for (const auto& url : urls) {
      if (queue_.size() >= 1000) {
        log::warn("webhook queue full: dropping the delivery to {}", url);
        continue;
      }
      queue_.push_back({url, secret, body, payload.value("event", "")});
    }
  }
  cv_.notify_all();
}

bool Webhooks::post(const Delivery& d, std::string& error) {
  std::vector<std::string> headers = {"X-Moccha-Event: " + d.event};
  if (!d.secret.empty())
    headers.push_back("X-Moccha-Signature: sha256=" + hmac_sha256_hex(d.secret, d.body));
  HttpReply r = http_post(d.url, headers, d.body, {.timeout = std::chrono::seconds(10)});
  if (!r.reached()) {
    error = r.error;
    return false;
  }
  if (r.status < 200 || r.status >= 300) {
    error = "HTTP " + std::to_string(r.status);
    return false;
  }
  return true;
}

void Webhooks::loop() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      continue;
    }
    auto next =
        std::min_element(queue_.begin(), queue_.end(),
                         [](const Delivery& a, const Delivery& b) { return a.due < b.due; });
    if (next->due > Clock::now()) {
      cv_.wait_until(lock, next->due);  // or until a new delivery or the stop
      continue;
    }
    Delivery d = std::move(*next);
    queue_.erase(next);
    lock.unlock();
    std::string error;
    bool delivered = post(d, error);
    lock.lock();
    if (delivered) continue;
    if (++d.tries >= 5) {
      log::warn("webhook to {} failed after 5 tries: {}", d.url, error);
      continue;
    }
    d.due = Clock::now() + std::chrono::seconds(1 << (d.tries - 1));  // 1, 2, 4, 8 s
    queue_.push_back(std::move(d));
  }
}

}  // namespace moccha::services
