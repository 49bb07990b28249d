// Completion webhooks, one component for every service, fed by the event bus: on each
// download.finished it POSTs JSON to the URLs in that service's `webhooks` config, signed with
// HMAC-SHA256 of the body (header X-Moccha-Signature: sha256=HEX) when its `webhook_secret` is
// set, retried with back-off (1, 2, 4, 8 s; 5 tries) on failure. Sends from a thread of its own
// with a bounded queue: never blocks the bus. A delivery waiting for its retry does not hold up
// the others: the thread sends whichever is due first.
//
// Payloads: Deluge keeps its original {"event": "torrent_finished", "torrent_id", "name",
// "size", "download_path", "time"}; every other service sends {"event": "download_finished",
// "service", "id", "name", "size", "path", "time"}.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace moccha::services {

struct Event;
class EventBus;

std::string hmac_sha256_hex(const std::string& key, const std::string& data);

// The webhook body for a download.finished event (null for any other event).
nlohmann::json webhook_payload(const Event& e);

class Webhooks {
 public:
  // `config_of(service)` is that service's current config ({"webhooks", "webhook_secret"}).
  using ConfigOf = std::function<nlohmann::json(const std::string&)>;
  Webhooks(EventBus& bus, ConfigOf config_of);
  ~Webhooks();  // unsubscribes, delivers nothing more; joins

  // Queues `payload` for every URL (dropped, with a log line, past 1000 waiting).
  void send(const std::vector<std::string>& urls, const std::string& secret,
            const nlohmann::json& payload);
  void on_event(const Event& e);

 private:
  struct Delivery {
    std::string url, secret, body, event;
    int tries = 0;
    std::chrono::steady_clock::time_point due{};
  };
  void loop();
  bool post(const Delivery& d, std::string& error);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Delivery> queue_;
  bool stop_ = false;
  EventBus& bus_;
  int subscription_ = -1;
  ConfigOf config_of_;
  std::thread thread_;
};

}  // namespace moccha::services
