// Fault loops in the style of Beast's fail_count tests: for every N, kill a function instance at
// its N-th resumption and check that the run still gives the fault-free history (every answer,
// every watch event exactly once, in order) and quiescent stores.
#include <catch2/catch.hpp>
#include <string>

#include "emulator/local_service.h"
#include "harness/history_diff.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

using namespace fkemu;

namespace {

Scenario load(const std::string& name) {
  auto sc = load_scenario(std::string(FKEMU_SOURCE_DIR) + "/scenarios/" + name);
  REQUIRE(sc.is_ok());
  return *sc;
}

// Kills the n-th resumption of a process whose name starts with `prefix`; reports whether the
// run got that far.
RunOutcome run_killing(const Scenario& sc, const std::string& prefix, int n, bool* reached) {
  RunOptions opt;
  opt.seed = 3;
  int seen = 0;
  *reached = false;
  opt.setup = [&](Executor& ex, LocalService&) {
    ex.set_resume_hook([&, ex_ptr = &ex](const ReadyEntry& e) {
      if (*reached || !ex_ptr->process_name(e.pid).starts_with(prefix)) return false;
      if (++seen == n) *reached = true;
      return *reached;
    });
  };
  return run_scenario(sc, opt);
}

void kill_everywhere(const std::string& scenario, const std::string& prefix) {
  const Scenario sc = load(scenario);
  RunOptions base;
  base.seed = 3;
  const RunOutcome clean = run_scenario(sc, base);
  REQUIRE(clean.ok());
  int runs = 0;
  for (int n = 1;; ++n) {
    bool reached = false;
    const RunOutcome out = run_killing(sc, prefix, n, &reached);
    if (!reached) break;
    ++runs;
    const auto diffs = zkref::diff_histories(clean.history, out.history);
    std::string report;
    for (const auto& p : out.problems) report += "\n  problem: " + p;
    for (const auto& e : out.expectation_failures) report += "\n  expectation: " + e;
    for (const auto& d : diffs) report += "\n  difference: " + d;
    INFO(scenario << ": killed " << prefix << " at resumption " << n << report);
    CHECK(out.ok());
    CHECK(diffs.empty());
  }
  INFO(scenario << " / " << prefix);
  CHECK(runs > 10);  // the loop really covered the function's await points
}

}  // namespace

TEST_CASE("killing the watch function at every await point delivers every watch exactly once",
          "[faults][watch]") {
  for (const char* sc :
       {"watch-data.json", "watch-delete.json", "watch-close.json", "watch-own-write.json"})
    kill_everywhere(sc, "watch#");
}

TEST_CASE("killing the distributor at every await point loses no answer and no watch",
          "[faults][distributor]") {
  for (const char* sc :
       {"watch-data.json", "watch-create.json", "watch-close.json", "sequential-names.json"})
    kill_everywhere(sc, "distributor#");
}

TEST_CASE("killing the writer at every await point gives the same answers", "[faults][writer]") {
  for (const char* sc :
       {"basic-create.json", "errors-delete.json", "ephemeral-close.json", "watch-own-write.json"})
    kill_everywhere(sc, "writer#");
}

TEST_CASE("killing the heartbeat at every await point still expires the session",
          "[faults][heartbeat]") {
  kill_everywhere("session-expiry.json", "heartbeat#");
}
