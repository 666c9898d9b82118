// The explorer's speed: schedules per second on one core for a 3-session, 12-operation
// concurrent scenario, with every fault site switched on BUGGIFY style and every schedule
// judged (quiescence checks and the G1-G10 history checker), next to the cost of one bare
// schedule (no faults, no judging) so that a regression shows where it is. The goal is
// 5,000 schedules/s; the figure is reported, never asserted.
#include <benchmark/benchmark.h>

#include "harness/checker.h"
#include "harness/explorer.h"

namespace {

using namespace fkemu;
using json = nlohmann::json;

const Scenario& bench_scenario() {
  static const Scenario sc = [] {
    json steps = json::array();
    auto op = [&](const char* s, const char* o, const char* p, json extra = json::object()) {
      json st{{"session", s}, {"op", o}, {"path", p}};
      st.update(extra);
      steps.push_back(st);
    };
    op("a", "create", "/x", {{"data", "0"}});
    steps.push_back({{"wait_ms", 10}});
    op("a", "set_data", "/x", {{"data", "a"}});
    op("b", "get_data", "/x", {{"watch", true}});
    op("c", "exists", "/x/y", {{"watch", true}});
    op("b", "set_data", "/x", {{"data", "b"}, {"version", 1}});
    op("c", "create", "/x/y", {{"data", "c"}, {"flags", {"ephemeral"}}});
    op("a", "get_children", "/x", {{"watch", true}});
    op("b", "create", "/x/s-", {{"data", ""}, {"flags", {"sequential"}}});
    op("c", "get_data", "/x");
    op("a", "delete", "/x/y");
    op("b", "exists", "/x/y");
    steps.push_back({{"session", "c"}, {"op", "close"}});
    json j{{"name", "explore-bench"},
           {"sessions", {"a", "b", "c"}},
           {"mode", "concurrent"},
           {"steps", steps}};
    auto parsed = parse_scenario(j);
    if (!parsed.is_ok()) throw std::runtime_error(parsed.status().message());
    return *parsed;
  }();
  return sc;
}

void BM_ExploreScheduleWithFaults(benchmark::State& state) {
  ExploreConfig cfg;
  cfg.faults = true;
  uint64_t i = 0, findings = 0;
  for (auto _ : state)
    findings += run_schedule(bench_scenario(), cfg, schedule_seed(1, i++)).findings.size();
  if (findings) state.SkipWithError("the correct protocol violated a guarantee");
  state.SetItemsProcessed(state.iterations());  // items/s = schedules/s
}
BENCHMARK(BM_ExploreScheduleWithFaults)->Unit(benchmark::kMicrosecond);

void BM_BareSchedule(benchmark::State& state) {
  RunOptions opt;
  uint64_t decisions = 0;
  for (auto _ : state) {
    opt.seed = schedule_seed(1, decisions);
    decisions += run_scenario(bench_scenario(), opt).decisions;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["decisions"] =
      benchmark::Counter(static_cast<double>(decisions), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_BareSchedule)->Unit(benchmark::kMicrosecond);

void BM_JudgeOnly(benchmark::State& state) {
  const RunOutcome out = run_scenario(bench_scenario());
  for (auto _ : state) benchmark::DoNotOptimize(judge(bench_scenario(), out));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JudgeOnly)->Unit(benchmark::kMicrosecond);

}  // namespace
