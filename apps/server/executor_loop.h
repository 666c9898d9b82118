// The deployment of fkemu serve and the loop that runs it: LocalService on a simulation Executor
// whose virtual time follows the real monotonic clock. Whenever something is due, one turn of the
// loop runs the executor up to now on the I/O thread. What the turn changed in the state file is
// committed, and only then do the answers and events of the turn leave (emit()), so that a
// client never sees what a crash could still undo.
//
// Group commit: the state file is written on a thread of its own, one transaction at a time.
// While a transaction is being written (and fsynced), the loop goes on with the next turns; the
// changes of every turn that ends meanwhile go into the next transaction together, and their
// answers wait for it. Answers of a turn that changed nothing wait too when a transaction is
// under way or changes wait for one: they may show what is not on disk yet. One client thus pays
// one fsync per write, as before; many clients share one fsync among all the writes that came
// during the previous one, as ZooKeeper's log does (decision 42).
//
// Everything else here runs on the thread of the io_context it is given (the server's I/O
// thread), or, with no io_context running, on the caller's (run_until(), for fuzzing and tests).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/protocol/deployment.h"
#include "core/runtime/block_on.h"
#include "core/runtime/executor.h"
#include "core/runtime/task.h"
#include "core/status.h"
#include "emulator/aws_latency.h"
#include "emulator/calibration_table.h"
#include "emulator/local_service.h"
#include "emulator/sqlite_state.h"
#include "harness/fault_plan.h"

namespace fkemu {

struct LoopOptions {
  DeploymentConfig config;
  std::string data_path = ":memory:";  // or the SQLite state file
  std::string latency_model = "zero";
  AwsLatencyOptions latency_options;
  std::shared_ptr<const CalibrationTable> calibration;  // null: the embedded table
  bool quiet = false;
};

class ExecutorLoop {
 public:
  ExecutorLoop(boost::asio::io_context& ioc, LoopOptions options);
  ~ExecutorLoop();
  ExecutorLoop(const ExecutorLoop&) = delete;
  ExecutorLoop& operator=(const ExecutorLoop&) = delete;

  // Opens the state file data_path: read-only beside a server that may be running on it, or
  // locked for this one. Without it the deployment keeps nothing.
  Status open_state(bool read_only);
  bool durable() const { return state_ != nullptr; }
  // Builds the deployment on what the state file holds; the virtual clock continues from its
  // saved time.
  Status build();
  bool built() const { return service_ != nullptr; }
  // Drops the deployment (every client session of the service with it), after flush().
  void drop();
  // Waits for the transaction under way and commits what waits for the next one, here and now,
  // then lets their answers out.
  void flush();
  // A deployment anew: no state, no faults (the latency model stays). Exits the process if the
  // state file cannot be cleared, as a server that cannot keep its state must not answer.
  void reset();

  Time now() const;
  // Schedules a turn of the loop (once, however often it is called before it runs).
  void kick();
  // What goes out to clients (or reads what they would see): inside a turn, after the
  // transaction with the turn's changes is written; outside one, after the transaction under
  // way and the changes waiting for one, or at once when there are none.
  void emit(std::function<void()> f);
  // Starts `task` now (its latency counts from the real clock's present) and hands its value to
  // `done` when it finishes (core/runtime/block_on.h).
  template <class T, class F>
  void spawn_then(std::string name, Task<T> task, F done) {
    catch_up();
    fkemu::spawn_then(*ex_, std::move(name), std::move(task), std::move(done));
    kick();
  }
  // Runs the executor on the calling thread until `answered` or a bound, with no io_context
  // running: "" or the error of a failed process, as "500 ...".
  std::string run_until(const std::function<bool()>& answered);
  // Transactions written to the state file since the start, and the changes in them: with
  // many clients, fewer transactions than writes (group commit).
  uint64_t transactions() const { return transactions_; }
  uint64_t changes_committed() const { return changes_committed_; }
  // Stops the timer, after flush().
  void stop();

  LocalService& service() { return *service_; }

  // Switches the executor to a latency model; the choice outlives a reset.
  Status set_latency(const std::string& name, AwsLatencyOptions options);
  const std::string& latency_model() const { return opt_.latency_model; }
  const AwsLatencyOptions& latency_options() const { return opt_.latency_options; }
  const CalibrationTable& calibration() const;

  // Injects faults from now on, until the next reset.
  void set_faults(const FaultConfig& faults);
  const std::optional<FaultConfig>& faults() const { return fault_config_; }
  size_t faults_injected() const;

 private:
  void turn();
  // Brings virtual time to the real clock's present before work from outside starts.
  void catch_up();
  // Group commit: starts writing the waiting changes unless a transaction is under way; with
  // none waiting, lets the waiting answers out.
  void pump();
  void committed(uint64_t id);
  void finish_in_flight();
  // Runs `out` in order; one that throws (a bug) is logged and costs only itself.
  void run_all(std::vector<std::function<void()>> out);
  [[noreturn]] void cannot_commit(const Status& st);

  boost::asio::io_context& ioc_;
  LoopOptions opt_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point start_;  // virtual time 0
  bool read_only_ = false;
  bool turn_posted_ = false;
  bool in_turn_ = false;
  std::vector<std::function<void()>> deferred_;  // this turn's answers
  std::unique_ptr<SqliteState> state_;
  // Group commit (see the top): the transaction being written, with the answers waiting for it,
  // and what waits for the next one.
  struct InFlight {
    uint64_t id;  // (no initializer: clang 14 cannot default-construct it in the optional)
    std::future<Status> written;
    std::vector<std::function<void()>> out;
  };
  std::optional<InFlight> in_flight_;
  uint64_t transactions_ = 0, changes_committed_ = 0;  // (the count names a transaction too)
  SqliteState::Batch next_changes_;
  std::vector<std::function<void()>> next_out_;
  boost::asio::thread_pool committer_{1};
  std::unique_ptr<Executor> ex_;
  std::optional<FaultConfig> fault_config_;
  std::unique_ptr<FaultPlan> faults_;
  std::unique_ptr<LocalService> service_;
};

}  // namespace fkemu
