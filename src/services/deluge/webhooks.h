// Completion webhooks: a JSON POST to each configured URL when a torrent finishes, signed with
// HMAC-SHA256 of the body (header X-Moccha-Signature: sha256=HEX) when a secret is set, retried
// with back-off (1, 2, 4, 8 s; 5 tries) on failure. Sends from a thread of its own with a
// bounded queue: never blocks the caller. A delivery waiting for its retry does not hold up the
// others: the thread sends whichever is due first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace moccha::deluge {

std::string hmac_sha256_hex(const std::string& key, const std::string& data);

class Webhooks {
 public:
  Webhooks();
  ~Webhooks();  // delivers nothing more; joins

  // Queues `payload` for every URL (dropped, with a log line, past 1000 waiting).
  void send(const std::vector<std::string>& urls, const std::string& secret,
            const nlohmann::json& payload);

 private:
  struct Delivery {
    std::string url, secret, body;
    int tries = 0;
    std::chrono::steady_clock::time_point due{};
  };
  void loop();
  bool post(const Delivery& d, std::string& error);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Delivery> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace moccha::deluge
