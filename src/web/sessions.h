// The dashboard's browser sessions: the API key exchanged once for a random cookie, kept in
// moccha.db (as its SHA-256 only) so an agent restart does not log the browser out, dropped
// after an idle time or when the API key changes; and one-time login codes for the link
// `moccha serve` prints (single use, two minutes, memory only).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/worker_pool.h"
#include "http/web_guard.h"

namespace moccha::store {
class Database;
}

namespace moccha::web {

class WebSessions : public http::SessionAuth {
 public:
  // Loads the sessions `api_key` made; `disk` runs the database writes that notes of use cause.
  WebSessions(store::Database* db, std::string_view api_key, std::chrono::seconds idle, Post disk);

  void set_port(unsigned short port);
  std::string cookie_name() const override;
  std::optional<std::string> csrf_of(std::string_view cookie) override;

  struct Created {
    std::string cookie;      // the Set-Cookie value, sent once, kept by the browser
    std::string csrf_token;  // for the page's memory
  };
  // Blocks on the database.
  Created create();
  // Blocks on the database. Unknown cookies are ignored.
  void end(std::string_view cookie);
  std::size_t count() const;

  static constexpr std::chrono::seconds kCodeLife{120};
  // A one-time login code for a link (`#login=CODE`).
  std::string login_code();
  // True once per code, within its life.
  bool redeem(std::string_view code);

 private:
  struct Live {
    std::string csrf_token;
    long long created = 0;
    long long last_seen = 0;
    long long saved_seen = 0;  // last_seen as the database has it
  };

  store::Database* db_;
  std::string key_tag_;
  std::chrono::seconds idle_;
  Post disk_;
  mutable std::mutex mu_;
  std::string cookie_name_ = "moccha_session";
  std::map<std::string, Live, std::less<>> live_;  // by id hash
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> codes_;
};

// SHA-256 of `text`, as hex.
std::string sha256_hex(std::string_view text);

}  // namespace moccha::web
