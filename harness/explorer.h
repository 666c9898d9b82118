// Explorer: runs many schedules of a scenario, judges each, records failing ones as traces,
// replays traces exactly and shrinks them.
//
// A schedule is one run of the scenario under a strategy (random walk, PCT, or a DFS prefix),
// seeded from the exploration seed and the schedule's index, with faults (the scenario's
// "faults", or BUGGIFY over every site with --faults). Its trace is every scheduling choice
// (index, ready count) and every injected fault (step, site, amount): enough to replay it on
// this build, decision for decision. A replay refuses a trace whose choices no longer fit,
// naming the first divergent decision.
//
// Judging: the quiescence and liveness checks after the run (G7, G10) and the history checker
// (harness/checker.h, G1-G10); a scenario's `expect` fields do not count here (faults change
// answers legitimately, e.g. a session that stopped answering heartbeats expires).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/fault_plan.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"
#include "harness/scenario_shrink.h"
#include "harness/strategies.h"

namespace fkemu {

struct Finding {
  std::string guarantee;  // G1..G10
  std::string message;
};

struct ExploreConfig {
  std::string strategy = "random";  // random | pct | dfs
  int pct_depth = 3;
  size_t dfs_depth = 64;
  int dfs_preemptions = 2;
  bool faults = false;  // BUGGIFY over every site when the scenario names none
  std::string mutant;   // a protocol mutant (FKEMU_MUTANTS builds)
};

struct ScheduleRun {
  uint64_t seed = 0;
  uint64_t trace_hash = 0;
  std::vector<RecordedChoice> choices;
  std::vector<InjectedFault> faults;
  std::vector<Finding> findings;
  RunOutcome outcome;
  std::string divergence;  // replays only: why the trace did not fit
  // Replays asked for it: one line per decision (index, virtual time, process, label).
  std::vector<std::string> decision_log;
};

uint64_t schedule_seed(uint64_t seed, uint64_t index);

ScheduleRun run_schedule(const Scenario& sc, const ExploreConfig& cfg, uint64_t seed,
                         const std::vector<RecordedChoice>* dfs_prefix = nullptr);
// Replays recorded choices and faults. strict: stop trusting the trace at the first choice
// that does not fit and report it in `divergence`; lenient (shrinking) goes on oldest-first.
// `seed`: the recorded run's (the latency model draws from a stream seeded by it).
ScheduleRun replay_schedule(const Scenario& sc, const std::vector<RecordedChoice>& choices,
                            const std::vector<InjectedFault>& faults,
                            const std::string& mutant = {}, uint64_t seed = 0,
                            bool log_decisions = false);

// `faults`: the faults the run injected; they stretch G8's time bounds (checker.h FaultWindow).
std::vector<Finding> judge(const Scenario& sc, const RunOutcome& out,
                           const std::vector<InjectedFault>& faults = {});

// A trace file: self-contained (the scenario's JSON is inside), replayable with fkemu replay.
nlohmann::json trace_to_json(const Scenario& sc, const ExploreConfig& cfg, const ScheduleRun& run,
                             const Finding& finding);
struct LoadedTrace {
  Scenario scenario;
  std::vector<RecordedChoice> choices;
  std::vector<InjectedFault> faults;
  uint64_t trace_hash = 0;
  Finding finding;
  std::string mutant;
  uint64_t seed = 0;
  std::string strategy;  // of the exploration that found it
};
Result<LoadedTrace> load_trace(const std::string& path);

struct ShrinkResult {
  ScheduleRun run;
  size_t choices_before = 0, choices_after = 0;  // non-default scheduling choices
  size_t faults_before = 0, faults_after = 0;
  size_t decisions_before = 0, decisions_after = 0;
  int candidates = 0;
};
// Delta-debugs the faults and the choices; keeps a candidate only if its run violates the same
// guarantee, and returns a trace that replays strictly.
ShrinkResult shrink(const Scenario& sc, const ScheduleRun& failing, const std::string& guarantee,
                    const std::string& mutant = {});

// A failure made small: first the scenario (harness/scenario_shrink.h; a candidate is kept if
// the failing schedule, replayed leniently on it, or one of `tries` fresh schedules of `cfg`
// violates the same guarantee), then the schedule of the smallest one (shrink()). The result's
// schedule replays strictly on the result's scenario.
struct FailureShrinkResult {
  ScenarioShrinkResult scenario;  // .scenario: the smallest scenario that still fails
  ShrinkResult schedule;          // .run: its schedule, shrunk
};
FailureShrinkResult shrink_failure(const Scenario& sc, const ExploreConfig& cfg,
                                   const ScheduleRun& failing, const std::string& guarantee,
                                   size_t tries = 6);

size_t non_default_choices(const std::vector<RecordedChoice>& c);

}  // namespace fkemu
