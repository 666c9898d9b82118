#include "emulator/sqlite_state.h"

#include <sqlite3.h>

namespace fkemu {

Result<std::unique_ptr<SqliteState>> SqliteState::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db) sqlite3_close(db);
    return Status(Code::SystemError, "cannot open " + path + ": " + msg);
  }
  std::unique_ptr<SqliteState> s(new SqliteState(db, path));
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                          "CREATE TABLE IF NOT EXISTS state (space TEXT NOT NULL, key TEXT NOT "
                          "NULL, value BLOB NOT NULL, PRIMARY KEY (space, key)) WITHOUT ROWID"}) {
    // journal_mode answers with a row; sqlite3_exec ignores it.
    if (Status st = s->exec(sql); !st.is_ok())
      return Status(Code::SystemError, path + " is not a usable fkemu state file: " + st.message());
  }
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO state (space, key, value) VALUES (?, ?, ?)",
                         -1, &s->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM state WHERE space = ? AND key = ?", -1, &s->erase_,
                         nullptr) != SQLITE_OK)
    return s->error("prepare");
  return s;
}

SqliteState::SqliteState(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

SqliteState::~SqliteState() {
  sqlite3_finalize(put_);
  sqlite3_finalize(erase_);
  sqlite3_close(db_);
}

Status SqliteState::error(const std::string& what) const {
  return Status(Code::SystemError, path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

Status SqliteState::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    return Status(Code::SystemError, msg);
  }
  return Status::ok();
}

void SqliteState::record(std::string_view space, std::string_view key,
                         std::optional<std::string> value) {
  pending_.push_back(Change{std::string(space), std::string(key), std::move(value)});
}

Status SqliteState::commit() {
  if (pending_.empty()) return Status::ok();
  if (Status st = exec("BEGIN IMMEDIATE"); !st.is_ok()) return error("begin");
  for (const Change& c : pending_) {
    sqlite3_stmt* s = c.value ? put_ : erase_;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, c.space.data(), static_cast<int>(c.space.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c.key.data(), static_cast<int>(c.key.size()), SQLITE_STATIC);
    if (c.value)
      sqlite3_bind_blob(s, 3, c.value->data(), static_cast<int>(c.value->size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status st = error("write");
      (void)exec("ROLLBACK");
      return st;
    }
  }
  if (Status st = exec("COMMIT"); !st.is_ok()) return error("commit");
  pending_.clear();
  return Status::ok();
}

std::vector<std::tuple<std::string, std::string, std::string>> SqliteState::load() const {
  std::vector<std::tuple<std::string, std::string, std::string>> out;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT space, key, value FROM state ORDER BY space, key", -1, &s,
                         nullptr) != SQLITE_OK)
    return out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    auto text = [&](int i) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_blob(s, i)),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)));
    };
    out.emplace_back(text(0), text(1), text(2));
  }
  sqlite3_finalize(s);
  return out;
}

Status SqliteState::clear() {
  pending_.clear();
  if (Status st = exec("DELETE FROM state"); !st.is_ok()) return error("clear");
  return Status::ok();
}

}  // namespace fkemu
