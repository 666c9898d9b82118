// Executor: the single-threaded loop that runs every function instance and client of a run.
//
// Processes are top-level coroutine Tasks (a writer instance, a poller, a client session). A
// process suspends at awaitables the executor provides:
//   * call(component, bytes, f): a call into a cloud service. The process becomes ready after
//     the latency model's delay; f runs (the service applies the call atomically) when the
//     scheduler resumes it. This is the unit of interleaving.
//   * sleep(d): a timer; yield(): a bare scheduling point.
// and at runtime primitives built on wake() (Mailbox, Event).
//
// Each step the scheduler picks one ready entry; the pick is recorded in the Trace. When nothing
// is ready, virtual time jumps to the next timer. A run ends when nothing is ready and no timer
// that keeps the run alive is left: timers of daemon processes (pollers waiting for work, the
// heartbeat) do not keep a run alive.
//
// kill(pid) destroys a process's coroutine frames at whatever await point it is suspended: what
// it had not yet done is simply not done.
//
// Not thread-safe; everything happens on the thread that calls run().
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/runtime/clock.h"
#include "core/runtime/fault_injector.h"
#include "core/runtime/latency_model.h"
#include "core/runtime/rng.h"
#include "core/runtime/scheduler.h"
#include "core/runtime/task.h"
#include "core/runtime/trace.h"

namespace fkemu {

class Executor final : public Clock {
 public:
  explicit Executor(uint64_t seed = 0, std::unique_ptr<Scheduler> scheduler = nullptr);
  ~Executor() override;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  Time now() const override { return now_; }
  // The clock as the running process sees it: now() plus its skew (fault site clock.skew).
  Time local_now() const;
  void set_clock_offset(ProcessId pid, Duration offset) { clock_offsets_[pid] = offset; }

  // Fault injection: null (the default) means no fault ever fires.
  void set_fault_injector(FaultInjector* f) { faults_ = f; }
  bool fault(std::string_view site) { return faults_ && faults_->fire(site); }
  Duration fault_amount(std::string_view site, Duration bound) {
    return faults_ ? faults_->amount(site, bound) : 0;
  }
  Rng& rng() { return rng_; }
  // The latency model's own stream, seeded from the run's seed: a replay, whose scheduler and
  // fault plan draw nothing, still draws the same latencies for the same decisions.
  Rng& latency_rng() { return latency_rng_; }
  Trace& trace() { return trace_; }
  Scheduler& scheduler() { return *scheduler_; }
  void set_scheduler(std::unique_ptr<Scheduler> s) { scheduler_ = std::move(s); }
  void set_latency_model(std::shared_ptr<LatencyModel> m) { latency_ = std::move(m); }
  LatencyModel& latency_model() { return *latency_; }

  // Starts `task` as a new process; it first runs when the scheduler picks it.
  ProcessId spawn(std::string name, Task<void> task, bool daemon = false);
  // Destroys the process's frames. Killing the running process takes effect when it next
  // suspends. Killing a finished or unknown process does nothing.
  void kill(ProcessId pid);
  bool alive(ProcessId pid) const { return processes_.count(pid) != 0; }
  // The process was killed (kill() or the resume hook), rather than finishing.
  bool was_killed(ProcessId pid) const { return killed_.count(pid) != 0; }
  ProcessId current() const { return current_; }
  std::string_view process_name(ProcessId pid) const;
  size_t process_count() const { return processes_.size(); }
  // Nothing ready and no timer that keeps the run alive: the run is over.
  bool idle() const { return ready_.empty() && keep_alive_timers_ == 0; }

  // Makes a suspended handle of process `pid` ready now (used by Mailbox and Event).
  void wake(std::coroutine_handle<> h, ProcessId pid, std::string_view label);
  // Timers for primitives with a timeout: schedule resumes the current process's `h` after d;
  // cancel takes it back (false if it already fired or was never there).
  uint64_t schedule_timer(std::coroutine_handle<> h, Duration d, bool keep_alive,
                          std::string_view label);
  bool cancel_timer(uint64_t id);
  bool current_is_daemon() const;

  // Observer of every resumption, before it happens (fault injection and tracing hook).
  // Returning true means: kill this process instead of resuming it.
  using ResumeHook = std::function<bool(const ReadyEntry&)>;
  // Second hook for stalls: a positive duration puts the entry back, ready again that much
  // later (fault site delay.lock_lifetime).
  using DelayHook = std::function<Duration(const ReadyEntry&)>;
  void set_delay_hook(DelayHook hook) { delay_hook_ = std::move(hook); }
  void set_resume_hook(ResumeHook hook) { resume_hook_ = std::move(hook); }

  // Runs one decision. Returns false when the run is over (or `until` is reached).
  bool step(Time until = std::numeric_limits<Time>::max());
  // Runs to the end of the run, or until virtual time would pass `until`. Rethrows an exception
  // that escaped a process.
  void run(Time until = std::numeric_limits<Time>::max());
  // The same with a budget of decisions; false if the budget ran out first (a livelock).
  bool run_bounded(Time until, uint64_t max_steps);
  // Service mode (fkemu serve, where virtual time follows a real clock): runs everything due
  // up to time t, daemon timers included, at most max_steps decisions; then the clock reads t
  // (if the budget did not run out first: then it returns false). Rethrows as run() does.
  bool advance_to(Time t, uint64_t max_steps);
  // Service mode with durable state: the clock starts at t (a restart continues the time of
  // the state it restored). Only before anything was scheduled.
  void start_at(Time t) {
    if (ready_.empty() && timers_.empty()) now_ = std::max(now_, t);
  }
  // Service mode: work from outside is about to be spawned at time t. If nothing is due before
  // t, the clock moves to t, so that the new work's latencies start at t rather than at the
  // end of the last turn (which may be long ago). Else the clock stays (the loop is behind).
  void catch_up(Time t) {
    if (ready_.empty() && (timers_.empty() || timers_.begin()->first.first >= t))
      now_ = std::max(now_, t);
  }
  // When the next thing is due: now if something is ready, else the earliest timer.
  std::optional<Time> next_timer() const;
  // Runs until pred() holds or the run is over; returns pred().
  bool run_until(const std::function<bool()>& pred, Time until = std::numeric_limits<Time>::max());

  // --- awaitables -------------------------------------------------------------------------
  struct SleepAwaiter {
    Executor* ex;
    Duration d;
    bool keep_alive;
    std::string_view label;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { ex->add_timer(h, d, keep_alive, label); }
    void await_resume() const noexcept {}
  };

  // Timer. A daemon process's sleep does not keep the run alive unless keep_alive is forced.
  SleepAwaiter sleep(Duration d, std::string_view label = "sleep") {
    return SleepAwaiter{this, d, !current_is_daemon(), label};
  }
  SleepAwaiter sleep_keep_alive(Duration d, std::string_view label = "sleep") {
    return SleepAwaiter{this, d, true, label};
  }
  SleepAwaiter yield(std::string_view label = "yield") {
    return SleepAwaiter{this, 0, true, label};
  }

  template <class F>
  struct CallAwaiter {
    Executor* ex;
    std::string_view kind;  // the service call ("kv.get"): the trace's and the fault plans' label
    std::string_view step;  // the protocol step it serves ("writer.lock"): what latency prices
    size_t bytes;
    F f;
    Time began = 0;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      began = ex->now_;
      ex->add_timer(h, ex->latency_->delay(step, bytes, ex->latency_rng_), true, kind);
    }
    decltype(auto) await_resume() {
      ex->call_began_ = began;
      return f();
    }
  };

  // A call into a cloud service: a scheduling point, then f() applied atomically. `kind` names
  // the service call (the trace label), `step` the protocol step the latency model prices
  // (docs/latency-model.md); bytes is the payload size the step is keyed by.
  template <class F>
  CallAwaiter<std::decay_t<F>> call(std::string_view kind, std::string_view step, size_t bytes,
                                    F&& f) {
    return CallAwaiter<std::decay_t<F>>{this, kind, step, bytes, std::forward<F>(f)};
  }
  // The same where the step is the call itself (calls no model prices differently).
  template <class F>
  CallAwaiter<std::decay_t<F>> call(std::string_view kind, size_t bytes, F&& f) {
    return CallAwaiter<std::decay_t<F>>{this, kind, kind, bytes, std::forward<F>(f)};
  }
  // Inside a call's f(): when the call was issued (its latency began then). A queue send
  // records it, since a FIFO trigger is measured from the start of the send.
  Time call_began() const { return call_began_; }

 private:
  struct Process {
    std::string name;
    Task<void> root;
    bool daemon = false;
  };
  struct Timer {
    std::coroutine_handle<> handle;
    ProcessId pid;
    bool keep_alive;
    std::string_view label;
  };

  void add_timer(std::coroutine_handle<> h, Duration d, bool keep_alive, std::string_view label);
  void finish_process(ProcessId pid);
  void release_earliest_timers();  // makes the timers due at the earliest time ready
  void destroy_process(ProcessId pid);

  Time now_ = 0;
  Time call_began_ = 0;
  Rng rng_;
  Rng latency_rng_;
  std::unique_ptr<Scheduler> scheduler_;
  std::shared_ptr<LatencyModel> latency_;
  Trace trace_;
  ResumeHook resume_hook_;
  DelayHook delay_hook_;
  FaultInjector* faults_ = nullptr;
  std::map<ProcessId, Duration> clock_offsets_;

  std::map<ProcessId, Process> processes_;
  std::set<ProcessId> killed_;
  ProcessId next_pid_ = 1;
  ProcessId current_ = 0;
  bool kill_current_ = false;

  std::vector<ReadyEntry> ready_;
  uint64_t next_seq_ = 0;
  std::multimap<std::pair<Time, uint64_t>, Timer> timers_;
  size_t keep_alive_timers_ = 0;
  std::exception_ptr escaped_;
};

}  // namespace fkemu
