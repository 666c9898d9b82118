// run_scenario(): executes a Scenario on a LocalService and records its history.
//
// sequential: each step runs to completion before the next starts (its answer, and every
// function it set off, including the watch events it causes). concurrent: every session runs
// its own steps in order, interleaved by the scheduler; a {"wait_ms"} step is a barrier: the
// steps before it finish, then virtual time passes.
//
// The history is docs/scenarios.md's JSON Lines, in the order the clients observed the events.
// Expectations (`expect`) are checked; a step left unanswered at the end of the run is a
// problem of its own (a liveness failure), as is a system store that is not quiescent.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/protocol/client_session.h"
#include "emulator/operation.h"
#include "emulator/quiescence.h"
#include "harness/checker.h"
#include "harness/scenario.h"

namespace fkemu {

class Executor;
class LatencyModel;
class LocalService;

struct RunOptions {
  uint64_t seed = 1;
  std::string scheduler = "random";  // random | oldest-first
  std::string mutant;                // a protocol mutant to switch on (FKEMU_MUTANTS builds)
  // A run that has not settled after this much virtual time past its last step, or this many
  // decisions in all, is stopped and reported as a liveness problem.
  Duration settle_limit = 5 * 60 * kSecond;
  // (the default decision budget is far above any bundled scenario's few thousand)
  uint64_t max_decisions = 200'000;
  bool keep_decisions = false;
  // The latency model of the run; null: the one the scenario's config names.
  std::shared_ptr<LatencyModel> latency;
  // Called once the service exists and before any step runs (fault injection, tests).
  std::function<void(Executor&, LocalService&)> setup;
  // Called at the end of the run, before the executor and the service are destroyed.
  std::function<void(Executor&, LocalService&)> finish;
};

struct RunOutcome {
  std::vector<nlohmann::json> history;
  std::vector<std::string> expectation_failures;
  std::vector<std::string> problems;  // unanswered steps, stores not quiescent
  // Sessions that stopped answering heartbeats by an injected fault, not by a step.
  std::vector<SilentStop> silent_stops;
  uint64_t trace_hash = 0;
  size_t decisions = 0;
  int64_t end_time_us = 0;
  bool ok() const { return expectation_failures.empty() && problems.empty(); }
};

RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options = {});

std::string history_to_jsonl(const std::vector<nlohmann::json>& history);

}  // namespace fkemu
