// Moccha's SQLite database (DATA_DIR/moccha.db): execution history and finished async tasks,
// so both survive an agent restart. One connection behind a mutex: safe from any thread, and
// every call blocks on disk, so keep it off the I/O thread.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace moccha::store {

struct HistoryEntry {
  std::string id;
  std::string type;  // execute | async-execute | shell | install
  std::string time;  // ISO-8601 UTC
  std::string input;
  bool success = false;
  double duration_s = 0;
};

// How much the database keeps: the newest entries; older ones are deleted as new ones come,
// so a long-running agent's file stays bounded (a task holds up to its output limit).
struct Retention {
  std::size_t history = 100000;
  std::size_t tasks = 1000;
};

class Database {
 public:
  // Opens or creates the file and its tables. Throws std::runtime_error.
  explicit Database(const std::string& path, Retention keep = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void add_history(const HistoryEntry& e);
  // Newest first.
  std::vector<HistoryEntry> history(int limit);
  // Every entry of these types ever added, those deleted by retention included.
  long long count_history(const std::vector<std::string>& types);

  // Tasks are stored as their JSON (the shape GET /task answers with), by id.
  void save_task(const std::string& id, const std::string& created, const nlohmann::json& task);
  std::optional<nlohmann::json> load_task(const std::string& id);
  std::vector<nlohmann::json> recent_tasks(int limit);

  // The download queue's memory, per service and native id: what Moccha keeps of an item
  // (created time, url, last state, final state) that its engine may forget.
  void save_download(const std::string& service, const std::string& id, const nlohmann::json& item);
  std::map<std::string, nlohmann::json> downloads(const std::string& service);
  void delete_download(const std::string& service, const std::string& id);

  // Dashboard sessions, by the SHA-256 of their cookie (the cookie itself is never stored),
  // and `key_tag`: which API key made them (a new key drops them all).
  struct WebSession {
    std::string id_hash;
    std::string csrf_token;
    long long created = 0;    // unix seconds
    long long last_seen = 0;  // unix seconds
  };
  void save_web_session(const WebSession& s, const std::string& key_tag);
  void delete_web_session(const std::string& id_hash);
  // The sessions made under `key_tag`; those of another key are deleted.
  std::vector<WebSession> web_sessions(const std::string& key_tag);

 private:
  void exec(const char* sql);
  void prune_history_locked(long long newest);
  Retention keep_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace moccha::store
