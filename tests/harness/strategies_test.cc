// Exploration strategies: PCT, replay of recorded decisions, bounded DFS by re-execution.
#include "harness/strategies.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/runtime/executor.h"
#include "emulator/local_service.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

using namespace fkemu;

namespace {

// A process that makes `steps` service calls, each appending "<name><i>" to the log when it is
// applied. Scheduling points: its start, then one per call.
Task<void> caller(Executor& ex, std::string name, int steps, std::vector<std::string>& log) {
  for (int i = 0; i < steps; ++i)
    co_await ex.call("svc", 0, [&log, &name, i] { log.push_back(name + std::to_string(i)); });
}

// A process that logs "<name>0" as soon as it starts and "<name>1" in its one call: two
// scheduling points, each of which logs, so every schedule gives a different log.
Task<void> eager(Executor& ex, std::string name, std::vector<std::string>& log) {
  log.push_back(name + "0");
  co_await ex.call("svc", 0, [&log, &name] { log.push_back(name + "1"); });
}

enum class Workload { Callers, Eager };

struct ToyRun {
  std::vector<std::string> log;
  uint64_t hash = 0;
  std::vector<RecordedChoice> decisions;  // every decision of the trace
  std::map<ProcessId, std::string> names;
};

// Runs `procs` processes named a, b, c, ... under `scheduler`.
ToyRun run_toy(std::unique_ptr<Scheduler> scheduler, uint64_t seed, Workload w, int procs,
               int steps = 0, std::shared_ptr<LatencyModel> latency = nullptr) {
  Executor ex(seed);
  ex.trace().keep_decisions(true);
  if (latency) ex.set_latency_model(std::move(latency));
  ex.set_scheduler(std::move(scheduler));
  ToyRun r;
  for (int p = 0; p < procs; ++p) {
    const std::string name(1, static_cast<char>('a' + p));
    const ProcessId pid = w == Workload::Callers ? ex.spawn(name, caller(ex, name, steps, r.log))
                                                 : ex.spawn(name, eager(ex, name, r.log));
    r.names[pid] = name;
  }
  ex.run();
  r.hash = ex.trace().hash();
  r.decisions = recorded_choices(ex.trace());
  return r;
}

std::string joined(const std::vector<std::string>& log) {
  std::string s;
  for (const auto& e : log) s += e + " ";
  return s;
}

// The process names in the order their blocks appear, or "" if the log is not made of one
// contiguous block per process.
std::string block_order(const std::vector<std::string>& log) {
  std::string order;
  std::set<char> done;
  for (const auto& e : log) {
    const char p = e[0];
    if (!order.empty() && order.back() == p) continue;
    if (!done.insert(p).second) return "";
    order += p;
  }
  return order;
}

// A latency model that draws from the run's Rng: 0..2 microseconds per call.
class JitterLatency final : public LatencyModel {
 public:
  Duration delay(std::string_view, size_t, Rng& rng) override {
    return static_cast<Duration>(rng.below(3));
  }
};

// Lends a scheduler the test owns to an executor (which would otherwise destroy it with itself).
class Borrowed final : public Scheduler {
 public:
  explicit Borrowed(Scheduler& s) : s_(s) {}
  std::string name() const override { return s_.name(); }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override {
    return s_.pick(ready, rng);
  }

 private:
  Scheduler& s_;
};

std::unique_ptr<Scheduler> borrow(Scheduler& s) { return std::make_unique<Borrowed>(s); }

struct DfsResult {
  size_t schedules = 0;
  bool complete = false;
  std::set<std::string> logs;
  std::set<uint64_t> hashes;
  std::set<std::vector<RecordedChoice>> prefixes;
  std::vector<std::vector<RecordedChoice>> runs;  // choice points of every run
};

DfsResult dfs_toy(size_t max_depth, int max_preemptions, Workload w, int procs, int steps = 0) {
  DfsExplorer dfs(max_depth, max_preemptions);
  DfsResult res;
  std::vector<RecordedChoice> prefix;
  while (dfs.next(prefix)) {
    REQUIRE(res.prefixes.insert(prefix).second);  // never the same prefix twice
    std::vector<RecordedChoice> made;
    auto sched = std::make_unique<RecordingScheduler>(make_dfs_scheduler(prefix), &made);
    const ToyRun r = run_toy(std::move(sched), 1, w, procs, steps);
    // Both forms are accepted: the full trace and the choice points alone.
    if (res.runs.size() % 2 == 0) {
      dfs.record(r.decisions);
    } else {
      dfs.record(made);
    }
    res.logs.insert(joined(r.log));
    res.hashes.insert(r.hash);
    res.runs.push_back(made);
    REQUIRE(res.runs.size() < 10000);
  }
  res.schedules = dfs.schedules();
  res.complete = dfs.complete();
  return res;
}

int preemptions(const std::vector<RecordedChoice>& run) {
  int n = 0;
  for (const auto& c : run) n += c.chosen != 0 ? 1 : 0;
  return n;
}

}  // namespace

// --- PCT --------------------------------------------------------------------------------------

TEST_CASE("PCT is deterministic for a seed and explores different orders across seeds",
          "[strategies][pct]") {
  const auto run = [](uint64_t seed) {
    return run_toy(std::make_unique<PctScheduler>(3, 30), seed, Workload::Callers, 4, 5);
  };
  for (uint64_t seed : {1, 2, 99}) {
    const ToyRun a = run(seed);
    const ToyRun b = run(seed);
    CHECK(a.log == b.log);
    CHECK(a.hash == b.hash);
    CHECK(a.log.size() == 20);
  }
  std::set<std::string> logs;
  std::set<uint64_t> hashes;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const ToyRun r = run(seed);
    logs.insert(joined(r.log));
    hashes.insert(r.hash);
  }
  CHECK(logs.size() >= 10);
  CHECK(hashes.size() >= logs.size());  // start points do not show in the log
  CHECK(PctScheduler(2).name() == "pct");
  CHECK_THROWS_AS(PctScheduler(0, 10), std::invalid_argument);
}

TEST_CASE("PCT with depth 1 runs each process to completion in priority order",
          "[strategies][pct]") {
  std::set<std::string> orders;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto pct = std::make_unique<PctScheduler>(1, 100);
    PctScheduler* p = pct.get();
    Executor ex(seed, std::move(pct));
    std::vector<std::string> log;
    std::map<ProcessId, std::string> names;
    for (char c : std::string("abcd")) {
      const std::string name(1, c);
      names[ex.spawn(name, caller(ex, name, 4, log))] = name;
    }
    ex.run();
    CHECK(p->change_points().empty());
    REQUIRE(log.size() == 16);
    const std::string order = block_order(log);
    INFO("seed " << seed << ": " << joined(log));
    REQUIRE(order.size() == 4);  // one contiguous block per process
    std::string by_priority;
    for (ProcessId pid : p->priority_order()) by_priority += names.at(pid);
    CHECK(order == by_priority);
    orders.insert(order);
  }
  CHECK(orders.size() >= 5);  // the priorities really are random
}

TEST_CASE("PCT with depth 2 preempts once at its change point", "[strategies][pct]") {
  int preempted = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto pct = std::make_unique<PctScheduler>(2, 8);
    PctScheduler* p = pct.get();
    Executor ex(seed, std::move(pct));
    std::vector<std::string> log;
    for (char c : std::string("ab")) ex.spawn(std::string(1, c), caller(ex, {c}, 6, log));
    ex.run();
    REQUIRE(p->change_points().size() == 1);
    CHECK(p->change_points()[0] < 8);
    // The change point demotes the process that would have run: after it, the other one runs
    // to completion first. The first process's block is split at most once.
    std::string runs;
    for (const auto& e : log)
      if (runs.empty() || runs.back() != e[0]) runs += e[0];
    CHECK(runs.size() <= 3);
    if (runs.size() == 3) ++preempted;
  }
  CHECK(preempted > 0);
}

// --- replay -----------------------------------------------------------------------------------

TEST_CASE("replay reproduces a random run's trace from its recorded decisions",
          "[strategies][replay]") {
  for (uint64_t seed : {3, 7, 11}) {
    const ToyRun original =
        run_toy(std::make_unique<RandomScheduler>(), seed, Workload::Callers, 3, 4);
    REQUIRE(original.decisions.size() == 15);

    ReplayScheduler replay(original.decisions);
    ReplayScheduler* r = &replay;
    const ToyRun again = run_toy(borrow(replay), seed, Workload::Callers, 3, 4);
    CHECK(again.hash == original.hash);
    CHECK(again.log == original.log);
    CHECK_FALSE(r->diverged());
    CHECK(r->divergence().empty());
    CHECK(r->name() == "replay");

    // Synchronised with the run's trace, forced steps included.
    Executor ex(seed);
    ReplayOptions sync;
    sync.sync = &ex.trace();
    ReplayScheduler synced(original.decisions, sync);
    ReplayScheduler* s = &synced;
    ex.set_scheduler(borrow(synced));
    std::vector<std::string> log;
    for (char c : std::string("abc")) ex.spawn(std::string(1, c), caller(ex, {c}, 4, log));
    ex.run();
    CHECK_FALSE(s->diverged());
    // Whatever is left unconsumed are forced steps at the end that the executor did not show.
    for (size_t i = s->position(); i < original.decisions.size(); ++i)
      CHECK(original.decisions[i].ready == 1);
    CHECK(ex.trace().hash() == original.hash);
  }
}

// The latency model draws from its own stream (Executor::latency_rng), seeded from the run's
// seed: a replay, whose scheduler draws nothing, still sees the latencies of the recorded run.
// (It once shared the scheduler's stream, and replays of aws-2024 runs went elsewhere.)
TEST_CASE("a run with a random latency model replays without drawing", "[strategies][replay]") {
  const auto jitter = std::make_shared<JitterLatency>();
  for (auto make :
       {+[]() -> std::unique_ptr<Scheduler> { return std::make_unique<RandomScheduler>(); },
        +[]() -> std::unique_ptr<Scheduler> { return std::make_unique<PctScheduler>(3, 200); }}) {
    const ToyRun original = run_toy(make(), 5, Workload::Callers, 3, 5, jitter);
    ReplayScheduler replay(original.decisions);
    ReplayScheduler* r = &replay;
    const ToyRun same = run_toy(borrow(replay), 5, Workload::Callers, 3, 5, jitter);
    CHECK(same.hash == original.hash);
    CHECK(same.log == original.log);
    CHECK_FALSE(r->diverged());
    // Another seed draws other latencies: the recorded decisions no longer fit.
    ReplayScheduler elsewhere(original.decisions);
    const ToyRun other = run_toy(borrow(elsewhere), 6, Workload::Callers, 3, 5, jitter);
    CHECK(other.hash != original.hash);
  }
}

TEST_CASE("replay reports the first divergence of a tampered list", "[strategies][replay]") {
  const ToyRun original = run_toy(std::make_unique<RandomScheduler>(), 7, Workload::Callers, 3, 4);
  size_t first_choice = 0;
  while (original.decisions[first_choice].ready < 2) ++first_choice;

  SECTION("a ready count that is not the run's") {
    auto tampered = original.decisions;
    const size_t at = first_choice + 2;
    REQUIRE(tampered[at].ready >= 2);
    const uint32_t actual = tampered[at].ready;
    tampered[at].ready += 5;
    ReplayScheduler sched(tampered);
    ReplayScheduler* r = &sched;
    const ToyRun run = run_toy(borrow(sched), 7, Workload::Callers, 3, 4);
    REQUIRE(r->diverged());
    CHECK(r->divergence_step() == at);
    const std::string msg = r->divergence();
    CHECK_THAT(msg, Catch::Contains("step " + std::to_string(at)) &&
                        Catch::Contains("recorded " + std::to_string(actual + 5) + " ready") &&
                        Catch::Contains("the run has " + std::to_string(actual)) &&
                        Catch::Contains("\"svc\""));
    // From the divergence on it picks 0: the rest of the run is oldest-first.
    CHECK(run.hash != original.hash);
    for (size_t i = at; i < run.decisions.size(); ++i) CHECK(run.decisions[i].chosen == 0);
  }

  SECTION("an index out of range") {
    auto tampered = original.decisions;
    tampered[first_choice].chosen = tampered[first_choice].ready + 3;
    ReplayScheduler sched(tampered);
    ReplayScheduler* r = &sched;
    run_toy(borrow(sched), 7, Workload::Callers, 3, 4);
    REQUIRE(r->diverged());
    CHECK_THAT(r->divergence(),
               Catch::Contains("step " + std::to_string(first_choice)) &&
                   Catch::Contains("index #" + std::to_string(tampered[first_choice].chosen)) &&
                   Catch::Contains("out of range"));
  }

  SECTION("a forced step recorded as a choice, caught when synchronised with the trace") {
    // With jittery latency, some steps have a single ready task between choice points.
    const auto jitter = std::make_shared<JitterLatency>();
    const ToyRun jittery =
        run_toy(std::make_unique<RandomScheduler>(), 7, Workload::Callers, 3, 4, jitter);
    auto tampered = jittery.decisions;
    size_t at = 0;
    for (size_t i = 1; i + 1 < tampered.size() && at == 0; ++i)
      if (tampered[i].ready == 1 && tampered[i + 1].ready >= 2) at = i;
    REQUIRE(at != 0);
    tampered[at].ready = 9;
    Executor ex(7);
    ex.set_latency_model(jitter);
    ReplayOptions opt;
    opt.sync = &ex.trace();
    ReplayScheduler sched(tampered, opt);
    ReplayScheduler* r = &sched;
    ex.set_scheduler(borrow(sched));
    std::vector<std::string> log;
    for (char c : std::string("abc")) ex.spawn(std::string(1, c), caller(ex, {c}, 4, log));
    ex.run();
    REQUIRE(r->diverged());
    CHECK(r->divergence_step() == at);
    CHECK_THAT(r->divergence(), Catch::Contains("step " + std::to_string(at)) &&
                                    Catch::Contains("recorded 9 ready") &&
                                    Catch::Contains("the run has 1"));

    // Unsynchronised, the same list is followed by skipping forced entries: no divergence
    // is seen there, and the run is the recorded one.
    ReplayScheduler skipping(jittery.decisions, ReplayOptions{nullptr});
    const ToyRun again = run_toy(borrow(skipping), 7, Workload::Callers, 3, 4, jitter);
    CHECK_FALSE(skipping.diverged());
    CHECK(again.hash == jittery.hash);
  }
}

// --- DFS --------------------------------------------------------------------------------------

TEST_CASE("DFS enumerates every interleaving of a toy workload exactly once", "[strategies][dfs]") {
  SECTION("2 processes x 2 logging steps: C(4,2) = 6") {
    const DfsResult r = dfs_toy(100, -1, Workload::Eager, 2);
    CHECK(r.complete);
    CHECK(r.schedules == 6);
    CHECK(r.logs.size() == 6);
    CHECK(r.hashes.size() == 6);
    CHECK(r.prefixes.size() == 6);
  }
  SECTION("3 processes x 2 logging steps: 6!/(2!2!2!) = 90") {
    const DfsResult r = dfs_toy(100, -1, Workload::Eager, 3);
    CHECK(r.complete);
    CHECK(r.schedules == 90);
    CHECK(r.logs.size() == 90);
    CHECK(r.hashes.size() == 90);
  }
  SECTION("2 processes x (start + 2 calls): C(6,3) = 20 schedules, C(4,2) = 6 logs") {
    const DfsResult r = dfs_toy(100, -1, Workload::Callers, 2, 2);
    CHECK(r.complete);
    CHECK(r.schedules == 20);
    CHECK(r.hashes.size() == 20);  // distinct schedules, distinct traces
    CHECK(r.logs.size() == 6);     // the start points do not show in the log
  }
}

TEST_CASE("DFS respects the preemption and depth bounds", "[strategies][dfs]") {
  // The tree of the eager 2 x 2 workload, by hand (a preemption = a non-zero index):
  //   (0,0,0) 0   (0,0,1) 1   (0,1) 1   (1,0,0) 1   (1,0,1) 2   (1,1) 2
  SECTION("no preemption: only the oldest-first schedule") {
    const DfsResult r = dfs_toy(100, 0, Workload::Eager, 2);
    CHECK(r.complete);
    CHECK(r.schedules == 1);
    const ToyRun oldest = run_toy(std::make_unique<OldestFirstScheduler>(), 1, Workload::Eager, 2);
    CHECK(r.logs == std::set<std::string>{joined(oldest.log)});
    CHECK(joined(oldest.log) == "a0 b0 a1 b1 ");
    for (const auto& run : r.runs) CHECK(preemptions(run) == 0);
  }
  SECTION("at most one preemption: 4 schedules") {
    const DfsResult r = dfs_toy(100, 1, Workload::Eager, 2);
    CHECK(r.complete);
    CHECK(r.schedules == 4);
    CHECK(r.logs.size() == 4);
    for (const auto& run : r.runs) CHECK(preemptions(run) <= 1);
  }
  SECTION("at most two preemptions: all 6") {
    const DfsResult r = dfs_toy(100, 2, Workload::Eager, 2);
    CHECK(r.schedules == 6);
  }
  SECTION("one preemption among 3 processes x (start + 2 calls)") {
    // The bounded search must find exactly the schedules of the full tree that have at most
    // one non-zero choice.
    const DfsResult all = dfs_toy(100, -1, Workload::Callers, 3, 2);
    const DfsResult one = dfs_toy(100, 1, Workload::Callers, 3, 2);
    CHECK(all.schedules == 1680);  // 9!/(3!3!3!)
    CHECK(one.complete);
    size_t within = 0;
    for (const auto& run : all.runs) within += preemptions(run) <= 1 ? 1 : 0;
    CHECK(one.schedules == within);
    for (const auto& run : one.runs) CHECK(preemptions(run) <= 1);
  }
  SECTION("depth bound: schedules are told apart by their first max_depth choices") {
    CHECK(dfs_toy(0, -1, Workload::Eager, 2).schedules == 1);
    CHECK(dfs_toy(1, -1, Workload::Eager, 2).schedules == 2);
    CHECK(dfs_toy(2, -1, Workload::Eager, 2).schedules == 4);
    CHECK(dfs_toy(3, -1, Workload::Eager, 2).schedules == 6);
  }
}

TEST_CASE("DFS refuses a run that did not follow its prefix", "[strategies][dfs]") {
  DfsExplorer dfs(10);
  std::vector<RecordedChoice> prefix;
  REQUIRE(dfs.next(prefix));
  CHECK(prefix.empty());
  CHECK_THROWS_AS(dfs.next(prefix), std::logic_error);  // the run was not recorded
  dfs.record({{0, 2}, {0, 1}, {0, 2}});
  REQUIRE(dfs.next(prefix));
  CHECK(prefix == std::vector<RecordedChoice>{{0, 2}, {1, 2}});
  CHECK_THROWS_AS(dfs.record({{0, 2}, {0, 2}}), std::logic_error);
  REQUIRE(dfs.next(prefix));
  CHECK(prefix == std::vector<RecordedChoice>{{1, 2}});
  CHECK_THROWS_AS(dfs.record({{1, 2}, {1, 2}}), std::logic_error);  // non-zero beyond prefix
  CHECK_FALSE(dfs.next(prefix));
  CHECK(dfs.complete());
  CHECK(dfs.schedules() == 1);
}

namespace {

// Picks 0 (oldest first) until a process named "session:..." is ready, then hands over to
// `inner`: the search then branches in the concurrent steps, not in the sessions' connects.
class AfterConnects final : public Scheduler {
 public:
  AfterConnects(Executor& ex, std::unique_ptr<Scheduler> inner)
      : ex_(ex), inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override {
    for (size_t i = 0; i < ready.size() && !open_; ++i)
      open_ = ex_.process_name(ready[i].pid).starts_with("session:");
    return open_ ? inner_->pick(ready, rng) : 0;
  }

 private:
  Executor& ex_;
  std::unique_ptr<Scheduler> inner_;
  bool open_ = false;
};

struct ScenarioDfs {
  size_t runs = 0;
  bool complete = false;
  std::set<uint64_t> hashes;
  std::set<std::string> histories;
  std::set<std::string> answered_ok;  // sessions whose step succeeded, over all runs
};

ScenarioDfs dfs_scenario(const Scenario& sc, size_t max_depth, int max_preemptions,
                         bool after_connects) {
  DfsExplorer dfs(max_depth, max_preemptions);
  ScenarioDfs res;
  std::vector<RecordedChoice> prefix;
  while (dfs.next(prefix)) {
    // The executor dies inside run_scenario: the recording scheduler copies the choices out.
    std::vector<RecordedChoice> made;
    RunOptions opt;
    opt.seed = 1;
    opt.setup = [&](Executor& ex, LocalService&) {
      std::unique_ptr<Scheduler> s =
          std::make_unique<RecordingScheduler>(make_dfs_scheduler(prefix), &made);
      if (after_connects) s = std::make_unique<AfterConnects>(ex, std::move(s));
      ex.set_scheduler(std::move(s));
    };
    const RunOutcome out = run_scenario(sc, opt);
    dfs.record(made);
    ++res.runs;
    REQUIRE(res.runs < 2000);
    std::string report;
    for (const auto& p : out.problems) report += "\n  problem: " + p;
    for (const auto& e : out.expectation_failures) report += "\n  expectation: " + e;
    INFO("schedule " << res.runs << report);
    CHECK(out.ok());
    res.hashes.insert(out.trace_hash);
    res.histories.insert(history_to_jsonl(out.history));
    for (const auto& line : out.history)
      if (line.at("kind") == "ok") res.answered_ok.insert(line.at("session").get<std::string>());
  }
  res.complete = dfs.complete();
  CHECK(dfs.schedules() == res.runs);
  return res;
}

}  // namespace

TEST_CASE("DFS over a tiny concurrent scenario terminates with distinct traces",
          "[strategies][dfs][scenario]") {
  auto sc = parse_scenario(nlohmann::json::parse(R"({
    "name": "dfs-smoke",
    "sessions": ["a", "b"],
    "mode": "concurrent",
    "steps": [
      {"session": "a", "op": "create", "path": "/x", "data": "a"},
      {"session": "b", "op": "create", "path": "/x", "data": "b"}
    ]
  })"));
  REQUIRE(sc.is_ok());

  SECTION("over the whole run: the first choice points are the sessions' connects") {
    const ScenarioDfs r = dfs_scenario(*sc, 2, 1, false);
    CHECK(r.complete);
    CHECK(r.runs > 5);
    CHECK(r.hashes.size() == r.runs);
  }
  SECTION("from the concurrent steps on: both creates win in some schedule") {
    const ScenarioDfs r = dfs_scenario(*sc, 4, -1, true);
    CHECK(r.complete);
    CHECK(r.runs > 5);
    CHECK(r.hashes.size() == r.runs);
    CHECK(r.histories.size() >= 2);
    CHECK(r.answered_ok == std::set<std::string>{"a", "b"});
  }
}
