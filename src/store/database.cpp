#include "store/database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "core/errors.h"

namespace moccha::store {
namespace {

using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

// SQLite's last error on `db` as an exception: DiskFull when the disk is, so the API answers
// 507 for it.
[[noreturn]] void fail(sqlite3* db) {
  std::string msg = std::string("sqlite: ") + sqlite3_errmsg(db);
  int code = sqlite3_errcode(db) & 0xff;
  if (code == SQLITE_FULL) throw DiskFull(msg);
  if (code == SQLITE_IOERR) throw_if_disk_full(sqlite3_system_errno(db), msg);
  throw std::runtime_error(msg);
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) fail(db);
  return Stmt(s, sqlite3_finalize);
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

std::string text(sqlite3_stmt* s, int col) {
  auto p = sqlite3_column_text(s, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, col)) : "";
}

// A count from the config as SQLite's 64-bit signed integer (a huge one must not wrap negative:
// a negative OFFSET reads as 0, and every task would go).
long long as_count(std::size_t n) {
  return n > static_cast<std::size_t>(INT64_MAX) ? INT64_MAX : static_cast<long long>(n);
}

void step_done(sqlite3* db, sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) fail(db);
}

}  // namespace

Database::Database(const std::string& path, Retention keep) : keep_(keep) {
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec(
      "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT, "
      "type TEXT, time TEXT, input TEXT, success INTEGER, duration REAL)");
  exec(
      "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, created TEXT, body TEXT, "
      "seq INTEGER)");
  exec("CREATE INDEX IF NOT EXISTS tasks_seq ON tasks (seq)");
  // History rows deleted by retention, counted by type: /status counts every execution.
  exec("CREATE TABLE IF NOT EXISTS pruned (type TEXT PRIMARY KEY, n INTEGER)");
  // The download queue's memory of what an engine forgets (aria2's finished downloads).
  exec(
      "CREATE TABLE IF NOT EXISTS downloads (service TEXT, id TEXT, body TEXT, seq INTEGER, "
      "PRIMARY KEY (service, id))");
  exec(
      "CREATE TABLE IF NOT EXISTS web_sessions (id_hash TEXT PRIMARY KEY, csrf TEXT, "
      "created INTEGER, last_seen INTEGER, key_tag TEXT)");
}

Database::~Database() {
  sqlite3_close(db_);
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    fail(db_);
  }
}

void Database::add_history(const HistoryEntry& e) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_,
                   "INSERT INTO history (id, type, time, input, success, duration) "
                   "VALUES (?, ?, ?, ?, ?, ?)");
  bind_text(s.get(), 1, e.id);
  bind_text(s.get(), 2, e.type);
  bind_text(s.get(), 3, e.time);
  bind_text(s.get(), 4, e.input);
  sqlite3_bind_int(s.get(), 5, e.success ? 1 : 0);
  sqlite3_bind_double(s.get(), 6, e.duration_s);
  step_done(db_, s.get());
  // Pruned in steps (a tenth of what is kept, at most 1000 rows), not on every insert.
  long long newest = sqlite3_last_insert_rowid(db_);
  long long step = std::clamp<long long>(as_count(keep_.history) / 10, 1, 1000);
  if (newest % step == 0) prune_history_locked(newest);
}

void Database::prune_history_locked(long long newest) {
  long long last_dropped = newest - as_count(keep_.history);
  if (last_dropped <= 0) return;
  exec("BEGIN");
  try {
    auto count = prepare(db_,
                         "INSERT INTO pruned (type, n) SELECT type, COUNT(*) FROM history "
                         "WHERE seq <= ? GROUP BY type "
                         "ON CONFLICT (type) DO UPDATE SET n = n + excluded.n");
    sqlite3_bind_int64(count.get(), 1, last_dropped);
    step_done(db_, count.get());
    auto drop = prepare(db_, "DELETE FROM history WHERE seq <= ?");
    sqlite3_bind_int64(drop.get(), 1, last_dropped);
    step_done(db_, drop.get());
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // may be gone already (SQLITE_FULL)
    throw;
  }
}

std::vector<HistoryEntry> Database::history(int limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_,
                   "SELECT id, type, time, input, success, duration FROM history "
                   "ORDER BY seq DESC LIMIT ?");
  sqlite3_bind_int(s.get(), 1, limit);
  std::vector<HistoryEntry> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({text(s.get(), 0), text(s.get(), 1), text(s.get(), 2), text(s.get(), 3),
                   sqlite3_column_int(s.get(), 4) != 0, sqlite3_column_double(s.get(), 5)});
  }
  return out;
}

long long Database::count_history(const std::vector<std::string>& types) {
  std::lock_guard lock(mu_);
  long long total = 0;
  auto s = prepare(db_,
                   "SELECT (SELECT COUNT(*) FROM history WHERE type = ?1) + "
                   "COALESCE((SELECT n FROM pruned WHERE type = ?1), 0)");
  for (const auto& t : types) {
    sqlite3_reset(s.get());
    bind_text(s.get(), 1, t);
    if (sqlite3_step(s.get()) == SQLITE_ROW) total += sqlite3_column_int64(s.get(), 0);
  }
  return total;
}

void Database::save_task(const std::string& id, const std::string& created,
                         const nlohmann::json& task) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_,
                   "INSERT OR REPLACE INTO tasks (id, created, body, seq) VALUES (?, ?, ?, "
                   "(SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks))");
  bind_text(s.get(), 1, id);
  bind_text(s.get(), 2, created);
  bind_text(s.get(), 3, task.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  step_done(db_, s.get());
  // Rows, not seq numbers: a task saved again (queued, then done) leaves a gap in seq.
  auto prune = prepare(
      db_,
      "DELETE FROM tasks WHERE seq <= (SELECT seq FROM tasks ORDER BY seq DESC LIMIT 1 OFFSET ?)");
  sqlite3_bind_int64(prune.get(), 1, as_count(keep_.tasks));
  step_done(db_, prune.get());
}

std::optional<nlohmann::json> Database::load_task(const std::string& id) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_, "SELECT body FROM tasks WHERE id = ?");
  bind_text(s.get(), 1, id);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  auto j = nlohmann::json::parse(text(s.get(), 0), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::vector<nlohmann::json> Database::recent_tasks(int limit) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_, "SELECT body FROM tasks ORDER BY seq DESC LIMIT ?");
  sqlite3_bind_int(s.get(), 1, limit);
  std::vector<nlohmann::json> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    auto j = nlohmann::json::parse(text(s.get(), 0), nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

void Database::save_download(const std::string& service, const std::string& id,
                             const nlohmann::json& item) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_,
                   "INSERT INTO downloads (service, id, body, seq) VALUES (?, ?, ?, "
                   "(SELECT COALESCE(MAX(seq), 0) + 1 FROM downloads)) "
                   "ON CONFLICT (service, id) DO UPDATE SET body = excluded.body");
  bind_text(s.get(), 1, service);
  bind_text(s.get(), 2, id);
  bind_text(s.get(), 3, item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  step_done(db_, s.get());
}

std::map<std::string, nlohmann::json> Database::downloads(const std::string& service) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_, "SELECT id, body FROM downloads WHERE service = ? ORDER BY seq");
  bind_text(s.get(), 1, service);
  std::map<std::string, nlohmann::json> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    auto j = nlohmann::json::parse(text(s.get(), 1), nullptr, false);
    if (!j.is_discarded()) out[text(s.get(), 0)] = std::move(j);
  }
  return out;
}

void Database::delete_download(const std::string& service, const std::string& id) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_, "DELETE FROM downloads WHERE service = ? AND id = ?");
  bind_text(s.get(), 1, service);
  bind_text(s.get(), 2, id);
  step_done(db_, s.get());
}

void Database::save_web_session(const WebSession& w, const std::string& key_tag) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_,
                   "INSERT INTO web_sessions (id_hash, csrf, created, last_seen, key_tag) "
                   "VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (id_hash) DO UPDATE SET last_seen = excluded.last_seen");
  bind_text(s.get(), 1, w.id_hash);
  bind_text(s.get(), 2, w.csrf_token);
  sqlite3_bind_int64(s.get(), 3, w.created);
  sqlite3_bind_int64(s.get(), 4, w.last_seen);
  bind_text(s.get(), 5, key_tag);
  step_done(db_, s.get());
}

void Database::delete_web_session(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  auto s = prepare(db_, "DELETE FROM web_sessions WHERE id_hash = ?");
  bind_text(s.get(), 1, id_hash);
  step_done(db_, s.get());
}

std::vector<Database::WebSession> Database::web_sessions(const std::string& key_tag) {
  std::lock_guard lock(mu_);
  auto drop = prepare(db_, "DELETE FROM web_sessions WHERE key_tag IS NOT ?");
  bind_text(drop.get(), 1, key_tag);
  step_done(db_, drop.get());
  auto s = prepare(db_, "SELECT id_hash, csrf, created, last_seen FROM web_sessions");
  std::vector<WebSession> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW)
    out.push_back({text(s.get(), 0), text(s.get(), 1), sqlite3_column_int64(s.get(), 2),
                   sqlite3_column_int64(s.get(), 3)});
  return out;
}

}  // namespace moccha::store
