#include "emulator/sqlite_state.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace fkemu {

namespace {

// 'fkem': PRAGMA application_id of a file fkemu created (files of older versions have 0 and the
// state table).
constexpr int kApplicationId = 0x666b656d;
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS state (space TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT "
    "NULL, PRIMARY KEY (space, key)) WITHOUT ROWID";

Status run(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return Status(Code::SystemError, msg);
  }
  return Status::ok();
}

// The first column of the first row of a query, or an error.
Result<std::string> scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
    return Status(Code::SystemError, sqlite3_errmsg(db));
  std::string out;
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(s, 0);
    out = t ? reinterpret_cast<const char*>(t) : "";
  } else if (rc != SQLITE_DONE) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_finalize(s);
    return Status(Code::SystemError, msg);
  }
  sqlite3_finalize(s);
  return out;
}

Result<sqlite3*> open_db(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db) sqlite3_close(db);
    return Status(Code::SystemError, "cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// The exclusive lock of a server on PATH: flock on PATH.lock, whose text is the holder's pid.
// flock locks belong to the open file, so a second server in the same process is refused too;
// the kernel drops the lock when the holder exits, however it exits.
// The lock file is named after the canonical path, so a symbolic link to the state file (or a
// path spelt otherwise) meets the same lock.
Result<int> take_lock(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(path, ec);
  const std::string lock_path = (ec ? path : canonical.string()) + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return Status(Code::SystemError,
                  "cannot open the lock file " + lock_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) holder = std::string(buf, static_cast<size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status(Code::SystemError,
                    path + " is in use by another fkemu serve" +
                        (holder.empty() ? std::string() : " (pid " + holder + ")") +
                        "; stop it first, or give this one another --data (fkemu serve --data " +
                        path + " --inspect reads the file beside it)");
    return Status(Code::SystemError, "cannot lock " + lock_path + ": " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second server is poorer.
  }
  return fd;
}

// Whether an existing database is an fkemu state file; an error says what it is instead.
Status check_state_file(sqlite3* db, const std::string& path) {
  auto app = scalar(db, "PRAGMA application_id");
  if (!app.is_ok())
    return Status(Code::BadArguments,
                  path + " is not an fkemu state file (" + app.status().message() + ")");
  auto table = scalar(db, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'state'");
  if (!table.is_ok())
    return Status(Code::BadArguments,
                  path + " is not an fkemu state file (" + table.status().message() + ")");
  const bool ours = std::atoi(app->c_str()) == kApplicationId;
  if (!ours && (std::atoi(app->c_str()) != 0 || table->empty()))
    return Status(Code::BadArguments,
                  path + " is not an fkemu state file (" +
                      (table->empty() ? std::string("no state table: an empty file, or another "
                                                    "program's database")
                                      : "another program's application id") +
                      "); move it away, or give --data a path that does not exist to start fresh");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<SqliteState>> SqliteState::open(const std::string& path, Mode mode) {
  int lock_fd = -1;
  if (mode == Mode::ReadWrite) {
    ASSIGN_OR_RETURN(lock_fd, take_lock(path));
  }
  auto release = [&lock_fd] {
    if (lock_fd >= 0) ::close(lock_fd);
    lock_fd = -1;
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || mode == Mode::ReadOnly) {
      release();
      return Status(Code::SystemError, "cannot open " + path + ": " + std::strerror(errno));
    }
    // A new file is made whole beside the path and renamed into place, so that a crash leaves
    // either nothing or a complete empty state file.
    const std::string fresh = path + ".new";
    ::unlink(fresh.c_str());
    auto db = open_db(fresh, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db.is_ok()) {
      release();
      return db.status();
    }
    Status made = run(*db, "PRAGMA application_id = " + std::to_string(kApplicationId));
    if (made.is_ok()) made = run(*db, "PRAGMA journal_mode=WAL");
    if (made.is_ok()) made = run(*db, kSchema);
    sqlite3_close(*db);
    if (made.is_ok() && ::rename(fresh.c_str(), path.c_str()) != 0)
      made = Status(Code::SystemError, std::strerror(errno));
    if (!made.is_ok()) {
      ::unlink(fresh.c_str());
      release();
      return Status(Code::SystemError, "cannot create " + path + ": " + made.message());
    }
  } else if (!S_ISREG(st.st_mode)) {
    release();
    return Status(Code::BadArguments, path + " is not a regular file");
  } else if (st.st_size == 0) {
    release();
    return Status(Code::BadArguments,
                  path +
                      " is empty, not an fkemu state file; remove it to start fresh (only a "
                      "path that does not exist starts with an empty tree)");
  }
  auto db = open_db(path, mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  if (!db.is_ok()) {
    release();
    return db.status();
  }
  std::unique_ptr<SqliteState> s(new SqliteState(*db, path, lock_fd));
  lock_fd = -1;  // s owns it
  if (Status ok = check_state_file(*db, path); !ok.is_ok()) return ok;
  if (mode == Mode::ReadOnly) return s;
  if (sqlite3_db_readonly(*db, "main") == 1)
    return Status(Code::SystemError, path +
                                         " cannot be written (its permissions, or a read-only "
                                         "file system): fkemu serve writes its state there");
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    // journal_mode answers with a row; sqlite3_exec ignores it.
    if (Status e = s->exec(sql); !e.is_ok())
      return Status(Code::SystemError, path + " is not a usable fkemu state file: " + e.message());
  }
  if (sqlite3_prepare_v2(*db, "INSERT OR REPLACE INTO state (space, key, value) VALUES (?, ?, ?)",
                         -1, &s->put_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(*db, "DELETE FROM state WHERE space = ? AND key = ?", -1, &s->erase_,
                         nullptr) != SQLITE_OK)
    return s->error("prepare");
  return s;
}

SqliteState::SqliteState(sqlite3* db, std::string path, int lock_fd)
    : db_(db), path_(std::move(path)), lock_fd_(lock_fd) {}

SqliteState::~SqliteState() {
  sqlite3_finalize(put_);
  sqlite3_finalize(erase_);
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
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

SqliteState::Batch SqliteState::take_pending() {
  Batch out;
  out.swap(pending_);
  return out;
}

Status SqliteState::commit() {
  if (pending_.empty()) return Status::ok();
  RETURN_IF_ERROR(write(pending_));
  pending_.clear();
  return Status::ok();
}

Status SqliteState::write(const Batch& batch) {
  if (batch.empty()) return Status::ok();
  if (Status st = exec("BEGIN IMMEDIATE"); !st.is_ok()) return error("begin");
  for (const Change& c : batch) {
    sqlite3_stmt* s = c.value ? put_ : erase_;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, c.space.data(), static_cast<int>(c.space.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c.key.data(), static_cast<int>(c.key.size()), SQLITE_STATIC);
    if (c.value)
      sqlite3_bind_blob(s, 3, c.value->data(), static_cast<int>(c.value->size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
      Status st = error("write");
      (void)exec("ROLLBACK");  // the write's error is the one to report
      return st;
    }
  }
  if (Status st = exec("COMMIT"); !st.is_ok()) return error("commit");
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
