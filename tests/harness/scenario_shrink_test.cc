// The scenario shrinker: it keeps what the predicate needs and drops the rest; every candidate
// it offers loads; and (with the mutants) a failure shrunk this way still replays strictly.
#include "harness/scenario_shrink.h"

#include <catch2/catch.hpp>

#include "harness/explorer.h"
#include "harness/workload_generator.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

bool has_step(const Scenario& sc, const std::string& session, const std::string& op,
              const std::string& path = {}) {
  for (const Step& st : sc.steps)
    if (!st.is_wait && st.session == session && st.op == op && (path.empty() || st.path == path))
      return true;
  return false;
}

}  // namespace

TEST_CASE("the shrinker keeps what the predicate needs and drops the rest", "[shrink]") {
  auto sc = parse_scenario(json::parse(R"({
    "name": "big", "description": "to be shrunk",
    "config": {"session_timeout_ms": 3000, "user_store": "kv", "writer_groups": "per_session"},
    "sessions": ["a", "b", "c"], "mode": "concurrent",
    "steps": [
      {"session": "a", "op": "create", "path": "/p", "data": "long data here"},
      {"session": "b", "op": "get_children", "path": "/p", "watch": true},
      {"session": "c", "op": "exists", "path": "/q"},
      {"wait_ms": 500},
      {"session": "a", "op": "create", "path": "/p/e", "data": "zz", "flags": ["ephemeral", "sequential"]},
      {"session": "c", "op": "set_data", "path": "/p", "data": "x", "version": 3},
      {"session": "b", "op": "get_data", "path": "/p", "watch": true},
      {"session": "a", "op": "expire"},
      {"session": "c", "op": "delete", "path": "/q", "version": 1}
    ]})"));
  REQUIRE(sc.is_ok());
  size_t offered = 0;
  // "The bug": a's ephemeral create and a's expire, with b watching /p's children.
  auto keep = [&](const Scenario& c) {
    ++offered;
    for (const Step& st : c.steps) REQUIRE(st.index < c.steps.size());
    return has_step(c, "a", "create", "/p/e") && has_step(c, "a", "expire") &&
           has_step(c, "b", "get_children", "/p");
  };
  const ScenarioShrinkResult r = shrink_scenario(*sc, keep);
  CHECK(r.candidates == offered);
  CHECK(r.steps_before == 9);
  CHECK(r.steps_after == 3);
  CHECK(r.sessions_before == 3);
  CHECK(r.sessions_after == 2);  // c went, with its steps
  CHECK(r.scenario.name == "big");
  const json& out = r.scenario.source;
  CHECK_FALSE(out.contains("config"));
  CHECK_FALSE(out.contains("description"));
  for (const auto& st : out["steps"]) {
    if (st.contains("data")) CHECK(st["data"] == "");
    CHECK_FALSE(st.contains("watch"));  // the predicate did not need it
  }
  // What is left still loads strictly.
  CHECK(parse_scenario(out).is_ok());
}

TEST_CASE("a predicate that accepts nothing leaves the scenario as it was", "[shrink]") {
  const Scenario sc = generate_scenario(generated_scenario_seed(2, 0));
  const ScenarioShrinkResult r = shrink_scenario(
      sc, [](const Scenario&) { return false; }, 50);
  CHECK(r.scenario.source == sc.source);
  CHECK(r.candidates <= 50);
}

#ifdef FKEMU_MUTANTS
// A mutant's failure on a generated scenario, shrunk scenario first and schedule second: the
// shrunk trace replays strictly on the shrunk scenario and violates the same guarantee.
TEST_CASE("a failure shrinks to a smaller scenario whose trace replays strictly",
          "[shrink][mutants]") {
  ExploreConfig cfg;
  cfg.mutant = "reads.not_stalled";
  std::optional<std::pair<Scenario, ScheduleRun>> failing;
  for (uint64_t i = 0; i < 3000 && !failing; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(8, i % 300));
    cfg.strategy = i % 2 ? "pct" : "random";
    ScheduleRun r = run_schedule(sc, cfg, schedule_seed(8, i));
    if (!r.findings.empty()) failing.emplace(sc, std::move(r));
  }
  REQUIRE(failing.has_value());
  const auto& [sc, run] = *failing;
  const std::string g = run.findings.front().guarantee;
  const FailureShrinkResult s = shrink_failure(sc, cfg, run, g);
  INFO(sc.name << " " << g << ": " << s.scenario.steps_before << " -> " << s.scenario.steps_after
               << " steps");
  CHECK(s.scenario.steps_after < sc.steps.size());
  const ScheduleRun again = replay_schedule(s.scenario.scenario, s.schedule.run.choices,
                                            s.schedule.run.faults, cfg.mutant, s.schedule.run.seed);
  CHECK(again.divergence.empty());
  CHECK(again.trace_hash == s.schedule.run.trace_hash);
  bool same = false;
  for (const auto& f : again.findings) same = same || f.guarantee == g;
  CHECK(same);
}
#endif
