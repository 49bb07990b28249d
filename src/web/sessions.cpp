#include "web/sessions.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "core/hex.h"
#include "core/log.h"
#include "http/admission.h"
#include "store/database.h"

namespace moccha::web {
namespace {

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A note of use reaches the database at most this often per session.
constexpr long long kSaveEvery = 60;

}  // namespace

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr))
    throw std::runtime_error("SHA-256 failed");
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), n));
}

WebSessions::WebSessions(store::Database* db, std::string_view api_key, std::chrono::seconds idle,
                         Post disk)
    : db_(db),
      key_tag_(sha256_hex(std::string("moccha-web-sessions:") + std::string(api_key))),
      idle_(idle),
      disk_(std::move(disk)) {
  long long now = unix_now();
  for (auto& s : db_->web_sessions(key_tag_)) {
    if (now - s.last_seen > idle_.count()) {
      db_->delete_web_session(s.id_hash);
      continue;
    }
    live_[s.id_hash] = {s.csrf_token, s.created, s.last_seen, s.last_seen};
  }
}

void WebSessions::set_port(unsigned short port) {
  std::lock_guard lock(mu_);
  cookie_name_ = "moccha_" + std::to_string(port);
}

std::string WebSessions::cookie_name() const {
  std::lock_guard lock(mu_);
  return cookie_name_;
}

std::optional<std::string> WebSessions::csrf_of(std::string_view cookie) {
  if (cookie.empty()) return std::nullopt;
  std::string id = sha256_hex(cookie);
  long long now = unix_now();
  std::lock_guard lock(mu_);
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  Live& s = it->second;
  if (now - s.last_seen > idle_.count()) {
    live_.erase(it);
    disk_([db = db_, id] { db->delete_web_session(id); });
    return std::nullopt;
  }
  s.last_seen = now;
  if (now - s.saved_seen >= kSaveEvery) {
    s.saved_seen = now;
    store::Database::WebSession row{id, s.csrf_token, s.created, now};
    disk_([db = db_, row, tag = key_tag_] {
      try {
        db->save_web_session(row, tag);
      } catch (const std::exception& e) {
        log::warn("web: cannot note a session's use: {}", e.what());
      }
    });
  }
  return s.csrf_token;
}

WebSessions::Created WebSessions::create() {
  Created c{random_hex(32), random_hex(32)};
  long long now = unix_now();
  std::string id = sha256_hex(c.cookie);
  db_->save_web_session({id, c.csrf_token, now, now}, key_tag_);
  std::lock_guard lock(mu_);
  live_[id] = {c.csrf_token, now, now, now};
  return c;
}

void WebSessions::end(std::string_view cookie) {
  std::string id = sha256_hex(cookie);
  {
    std::lock_guard lock(mu_);
    if (live_.erase(id) == 0) return;
  }
  db_->delete_web_session(id);
}

std::size_t WebSessions::count() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

std::string WebSessions::login_code() {
  std::string code = random_hex(16);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  std::erase_if(codes_, [&](const auto& c) { return now - c.second > kCodeLife; });
  codes_[code] = now;
  return code;
}

bool WebSessions::redeem(std::string_view code) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (auto it = codes_.begin(); it != codes_.end(); ++it) {
    if (!http::constant_time_equal(code, it->first)) continue;
    bool fresh = now - it->second <= kCodeLife;
    codes_.erase(it);
    return fresh;
  }
  return false;
}

}  // namespace moccha::web
