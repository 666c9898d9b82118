// SqliteState: the durable state of fkemu serve --data FILE, one SQLite file in WAL mode with
// synchronous=FULL (every commit is fsynced). Changes recorded between two commits go to the
// file in one transaction: the server groups the changes of the loop turns that end while the
// previous transaction is being written into the next one, and lets no answer of those turns
// leave before it is on disk, so an acknowledged write is on disk (apps/server/executor_loop.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/status.h"
#include "emulator/state_journal.h"

struct sqlite3;
struct sqlite3_stmt;

namespace fkemu {

class SqliteState final : public StateJournal {
 public:
  // ReadWrite: the file is the server's alone while it is open (an exclusive lock on PATH.lock,
  // which holds the holder's pid); a path that does not exist is created (atomically: a crash
  // never leaves an empty file behind). ReadOnly: inspection, beside a running server.
  // An existing file that is not an fkemu state file (empty included) is refused. A clear error
  // names the file and the problem.
  enum class Mode { ReadWrite, ReadOnly };
  static Result<std::unique_ptr<SqliteState>> open(const std::string& path,
                                                   Mode mode = Mode::ReadWrite);
  ~SqliteState() override;
  SqliteState(const SqliteState&) = delete;
  SqliteState& operator=(const SqliteState&) = delete;

  struct Change {
    std::string space, key;
    std::optional<std::string> value;  // none: erased
  };
  using Batch = std::vector<Change>;

  void record(std::string_view space, std::string_view key,
              std::optional<std::string> value) override;
  // Writes what was recorded since the last commit, in one transaction.
  Status commit();
  bool has_pending() const { return !pending_.empty(); }
  // What was recorded since the last commit (or take), handed over: write() it.
  Batch take_pending();
  // Writes `batch` in one transaction (fsynced). It touches only the file, not what is being
  // recorded, so one thread may write a batch while another records the next one; the file is
  // used by one thread at a time (load, clear, commit and write never overlap).
  Status write(const Batch& batch);
  // Everything the file holds, as (space, key, value), ordered by space and key.
  std::vector<std::tuple<std::string, std::string, std::string>> load() const;
  // Erases everything (admin reset).
  Status clear();
  const std::string& path() const { return path_; }

 private:
  SqliteState(sqlite3* db, std::string path, int lock_fd);
  Status exec(const char* sql);
  Status error(const std::string& what) const;

  sqlite3* db_;
  std::string path_;
  int lock_fd_ = -1;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  Batch pending_;
};

}  // namespace fkemu
