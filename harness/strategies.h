// Exploration strategies: schedulers and a search driver beyond the seeded random walk.
//
//   * PctScheduler: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
//     Nagarakatte, ASPLOS 2010). Priority-driven; with depth d it finds a bug of depth d with
//     probability at least 1/(n k^(d-1)) per run (n processes, k steps).
//   * ReplayScheduler: follows recorded decisions, reporting the first place where the run no
//     longer matches them.
//   * DfsExplorer: bounded exhaustive search over scheduling choices by re-execution (stateless
//     model checking): each run forces a prefix of choices and picks index 0 afterwards.
//   * RecordingScheduler: wraps another scheduler and copies out what it picked (what
//     DfsExplorer::record needs when the Executor does not outlive the run).
//
// A note on "decisions". Every step is recorded in the Trace, a step with a single ready task
// too (chosen 0, ready 1). Whether the Executor consults its Scheduler at such a forced step has
// varied (it used to skip the call); everything here works either way. A *choice point* is a
// decision with ready >= 2: PCT counts choice points as its steps (forced steps draw nothing
// and do not count), DfsExplorer branches (and counts max_depth) in choice points only, and
// ReplayScheduler lines a recorded list up with the run either by the Trace's step number
// (ReplayOptions::sync: exact, forced steps checked too) or by skipping forced entries.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/runtime/scheduler.h"
#include "core/runtime/trace.h"

namespace fkemu {

// One scheduling decision as recorded: the index picked and how many tasks were ready.
struct RecordedChoice {
  uint32_t chosen = 0;
  uint32_t ready = 0;
  auto operator<=>(const RecordedChoice&) const = default;
};

// The (chosen, ready) pairs of a trace's kept decisions (Trace::keep_decisions(true)).
std::vector<RecordedChoice> recorded_choices(const std::vector<Decision>& decisions);
std::vector<RecordedChoice> recorded_choices(const Trace& trace);

// --- PCT --------------------------------------------------------------------------------------

// Each process gets a random distinct priority the first time it is seen in a ready list (drawn
// from the run's Rng, so a run is reproducible from its seed). depth - 1 priority change points
// are drawn uniformly without replacement among the first `expected_steps` choice points (at the
// first pick). pick() returns the oldest ready entry of the highest-priority process; when the
// current choice point is a change point, that process's priority first drops below every other
// process's (seen so far or later), and the pick is made again.
class PctScheduler final : public Scheduler {
 public:
  // depth >= 1 (std::invalid_argument otherwise); expected_steps is k, an estimate of the number
  // of choice points of a run (0 is taken as 1).
  explicit PctScheduler(int depth = 3, size_t expected_steps = 2000);

  std::string name() const override { return "pct"; }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override;

  int depth() const { return depth_; }
  // Choice points seen so far.
  size_t steps() const { return step_; }
  // The change points (choice-point indices, ascending); empty before the first pick.
  std::vector<size_t> change_points() const { return {changes_.begin(), changes_.end()}; }
  // Processes seen so far, highest priority first.
  std::vector<ProcessId> priority_order() const;

 private:
  int64_t priority_of(ProcessId pid, Rng& rng);
  size_t highest(const std::vector<ReadyEntry>& ready, Rng& rng);

  int depth_;
  size_t expected_steps_;
  bool initialised_ = false;
  size_t step_ = 0;
  std::set<size_t> changes_;
  std::unordered_map<ProcessId, int64_t> priority_;
  std::set<int64_t> used_;
  int64_t lowest_ = 0;  // lowered priorities are negative and decreasing; initial ones are > 0
};

// --- replay -----------------------------------------------------------------------------------

struct ReplayOptions {
  // When set (to the run's own ex.trace()), the recorded list is indexed by the Trace's step
  // number, forced steps (ready == 1) included: every recorded entry must match the run's step,
  // forced steps too (those the executor takes without asking must have been forced when
  // recorded). When null, recorded entries with ready <= 1 are passed over and the list is
  // followed one choice point at a time; that also accepts a list of choice points alone (from
  // DfsExplorer, or RecordingScheduler under an executor that does not show forced steps), but
  // a divergence that turns a forced step into a choice is seen only at a later choice point.
  const Trace* sync = nullptr;
};

// Follows a recorded list of decisions; once the list ends it picks 0 (oldest first). At the
// first recorded decision whose ready count differs from the run's, or whose index is out of
// range, it records the divergence and from then on picks 0.
class ReplayScheduler final : public Scheduler {
 public:
  explicit ReplayScheduler(std::vector<RecordedChoice> choices, ReplayOptions options = {});

  std::string name() const override { return "replay"; }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override;

  bool diverged() const { return divergence_.has_value(); }
  // Empty when the run has not diverged. Otherwise e.g.
  //   "replay diverged at step 7: recorded 3 ready task(s) (picked #2), the run has 2:
  //    [#0 pid 1 "kv.get", #1 pid 4 "timer"]"
  std::string divergence() const;
  size_t divergence_step() const { return divergence_ ? divergence_->step : 0; }
  // Recorded entries consumed so far (choice points followed, plus skipped forced steps).
  size_t position() const { return next_; }
  // True once every recorded entry has been consumed.
  bool exhausted() const { return next_ >= choices_.size(); }

 private:
  struct Divergence {
    size_t step;
    uint32_t expected_ready;
    uint32_t actual_ready;
    uint32_t recorded_chosen;
    std::string entries;
  };
  void diverge(size_t step, uint32_t expected_ready, uint32_t recorded_chosen,
               const std::vector<ReadyEntry>& ready, uint32_t actual_ready);

  std::vector<RecordedChoice> choices_;
  ReplayOptions options_;
  size_t next_ = 0;
  std::optional<Divergence> divergence_;
};

// --- recording --------------------------------------------------------------------------------

// Delegates to `inner` and appends (chosen, ready) of every pick to *out, which must outlive the
// scheduler's use. Forced steps appear in *out only if the executor shows them to schedulers.
class RecordingScheduler final : public Scheduler {
 public:
  RecordingScheduler(std::unique_ptr<Scheduler> inner, std::vector<RecordedChoice>* out);
  std::string name() const override { return inner_->name(); }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override;

 private:
  std::unique_ptr<Scheduler> inner_;
  std::vector<RecordedChoice>* out_;
};

// --- bounded DFS ------------------------------------------------------------------------------

// Iterative depth-first search over the tree of scheduling choices, by re-execution:
//
//   DfsExplorer dfs(8, 2);
//   std::vector<RecordedChoice> prefix;
//   while (dfs.next(prefix)) {
//     std::vector<RecordedChoice> made;
//     ... run with std::make_unique<RecordingScheduler>(make_dfs_scheduler(prefix), &made) ...
//     dfs.record(made);
//   }
//   // dfs.complete(), dfs.schedules()
//
// The tree is that of choice points (ready >= 2), cut at depth max_depth: every run forces a
// prefix and picks 0 beyond it, so a schedule is identified by its first max_depth choices. A
// preemption is choosing a non-zero index, i.e. not the oldest ready task (which is always
// available); with max_preemptions = p >= 0 only schedules with at most p of them are produced
// (so p = 0 gives exactly the oldest-first schedule). This is delay bounding relative to the
// oldest-first reference schedule. Runs must be deterministic given the forced choices (same
// seed, same setup): record() throws std::logic_error if a run did not follow its prefix.
class DfsExplorer {
 public:
  explicit DfsExplorer(size_t max_depth, int max_preemptions = -1);

  // Produces the next prefix to force; false (and complete()) once the bounded tree is
  // exhausted. Every call that returns true must be followed by record() before the next call.
  bool next(std::vector<RecordedChoice>& prefix);
  // The choices the run made: either every decision (recorded_choices(trace); entries with
  // ready <= 1 are ignored) or just the choice points (RecordingScheduler).
  void record(const std::vector<RecordedChoice>& full_run);

  // Runs recorded so far: each is a distinct schedule.
  size_t schedules() const { return schedules_; }
  bool complete() const { return complete_; }
  size_t max_depth() const { return max_depth_; }
  int max_preemptions() const { return max_preemptions_; }

 private:
  size_t max_depth_;
  int max_preemptions_;
  bool started_ = false;
  bool awaiting_record_ = false;
  bool complete_ = false;
  size_t schedules_ = 0;
  std::vector<RecordedChoice> path_;  // choice points of the last run, cut at max_depth
  std::vector<RecordedChoice> forced_;
};

// The scheduler for one DFS run: a ReplayScheduler over `prefix` (choice points only), picking 0
// beyond it without reporting divergence.
std::unique_ptr<Scheduler> make_dfs_scheduler(const std::vector<RecordedChoice>& prefix);

}  // namespace fkemu
