#include "harness/explorer.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/json/json_text.h"
#include "emulator/local_service.h"
#include "harness/checker.h"
#include "harness/scenario_shrink.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

// Records what the run's scheduler chose at every step.
class Recording final : public Scheduler {
 public:
  // `log` (optional): one line per decision, with the chosen process's name.
  Recording(std::unique_ptr<Scheduler> inner, std::vector<RecordedChoice>* out,
            const Executor* ex = nullptr, std::vector<std::string>* log = nullptr)
      : inner_(std::move(inner)), out_(out), ex_(ex), log_(log) {}
  std::string name() const override { return inner_->name(); }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override {
    const size_t i = inner_->pick(ready, rng);
    out_->push_back(RecordedChoice{static_cast<uint32_t>(i), static_cast<uint32_t>(ready.size())});
    if (log_ && ex_) {
      char head[80];
      std::snprintf(head, sizeof head, "%6zu  t=%lld us  %zu/%zu  ", out_->size() - 1,
                    static_cast<long long>(ex_->now()), i, ready.size());
      log_->push_back(std::string(head) + std::string(ex_->process_name(ready[i].pid)) + "  " +
                      std::string(ready[i].label));
    }
    return i;
  }
  Scheduler& inner() { return *inner_; }

 private:
  std::unique_ptr<Scheduler> inner_;
  std::vector<RecordedChoice>* out_;
  const Executor* ex_;
  std::vector<std::string>* log_;
};

using SchedulerFactory = std::function<std::unique_ptr<Scheduler>(Executor&)>;

ScheduleRun execute(const Scenario& sc, uint64_t seed, const std::string& mutant,
                    SchedulerFactory make_scheduler_for,
                    std::function<std::unique_ptr<FaultPlan>(Executor&)> make_plan,
                    bool log_decisions = false) {
  ScheduleRun run;
  run.seed = seed;
  std::unique_ptr<FaultPlan> plan;
  RunOptions opt;
  opt.seed = seed;
  opt.scheduler = "oldest-first";
  opt.mutant = mutant;
  ReplayScheduler* replay = nullptr;
  opt.setup = [&](Executor& ex, LocalService&) {
    std::unique_ptr<Scheduler> scheduler = make_scheduler_for(ex);
    replay = dynamic_cast<ReplayScheduler*>(scheduler.get());
    ex.set_scheduler(std::make_unique<Recording>(std::move(scheduler), &run.choices, &ex,
                                                 log_decisions ? &run.decision_log : nullptr));
    plan = make_plan(ex);
    if (plan) plan->install();
  };
  opt.finish = [&](Executor& ex, LocalService&) {
    if (plan) run.faults = plan->injected();
    if (replay && replay->diverged()) run.divergence = replay->divergence();
    ex.set_fault_injector(nullptr);
  };
  run.outcome = run_scenario(sc, opt);
  run.trace_hash = run.outcome.trace_hash;
  run.findings = judge(sc, run.outcome, run.faults);
  return run;
}

}  // namespace

uint64_t schedule_seed(uint64_t seed, uint64_t index) {
  Rng r(seed * 0x9e3779b97f4a7c15ULL + index);
  return r.next();
}

std::vector<Finding> judge(const Scenario& sc, const RunOutcome& out,
                           const std::vector<InjectedFault>& faults) {
  std::vector<Finding> f;
  for (const auto& p : out.problems) {
    const bool liveness =
        p.find("never answered") != std::string::npos || p.find("locked") != std::string::npos;
    f.push_back(Finding{liveness ? "G10" : "G7", p});
  }
  std::vector<FaultWindow> windows;
  const DeploymentConfig config = deployment_config(sc.config);
  for (const InjectedFault& fault : faults)
    if (const Duration bound = fault_delay_bound(fault.site, config); bound > 0)
      windows.push_back(FaultWindow{fault.t, bound});
  for (const auto& v : check_history(sc, out.history, out.silent_stops, windows))
    f.push_back(Finding{v.guarantee, violation_to_string(v)});
  return f;
}

ScheduleRun run_schedule(const Scenario& sc, const ExploreConfig& cfg, uint64_t seed,
                         const std::vector<RecordedChoice>* dfs_prefix) {
  auto s = [&](Executor&) -> std::unique_ptr<Scheduler> {
    if (dfs_prefix) return make_dfs_scheduler(*dfs_prefix);
    if (cfg.strategy == "pct") return std::make_unique<PctScheduler>(cfg.pct_depth, 2000);
    return std::make_unique<RandomScheduler>();
  };
  const bool use_faults = !sc.faults.is_null() || cfg.faults;
  return execute(sc, seed, cfg.mutant, s, [&](Executor& ex) -> std::unique_ptr<FaultPlan> {
    if (!use_faults) return nullptr;
    Rng config_rng(seed ^ 0xfa17fa17fa17fa17ULL);
    FaultConfig fc =
        sc.faults.is_null() ? FaultConfig::buggify(config_rng) : FaultConfig::from_json(sc.faults);
    return std::make_unique<FaultPlan>(ex, std::move(fc));
  });
}

ScheduleRun replay_schedule(const Scenario& sc, const std::vector<RecordedChoice>& choices,
                            const std::vector<InjectedFault>& faults, const std::string& mutant,
                            uint64_t seed, bool log_decisions) {
  // Synchronised with the trace: every step, also a forced one, must match its record.
  auto s = [&](Executor& ex) -> std::unique_ptr<Scheduler> {
    return std::make_unique<ReplayScheduler>(choices, ReplayOptions{&ex.trace()});
  };
  return execute(
      sc, seed, mutant, s, [&](Executor& ex) { return std::make_unique<FaultPlan>(ex, faults); },
      log_decisions);
}

json trace_to_json(const Scenario& sc, const ExploreConfig& cfg, const ScheduleRun& run,
                   const Finding& finding) {
  json choices = json::array();
  for (const auto& c : run.choices) choices.push_back(json::array({c.chosen, c.ready}));
  return json{{"fkemu_trace", 1},
              {"scenario_file", sc.file},
              {"scenario", sc.source},
              {"strategy", cfg.strategy},
              {"mutant", cfg.mutant},
              {"seed", run.seed},
              {"trace_hash", run.trace_hash},
              {"violation", {{"guarantee", finding.guarantee}, {"message", finding.message}}},
              {"faults", faults_to_json(run.faults)},
              {"choices", choices}};
}

Result<LoadedTrace> load_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::BadArguments, path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  ASSIGN_OR_RETURN(const json j, parse_json(buf.str(), path));
  try {
    if (!j.is_object() || j.value("fkemu_trace", 0) != 1)
      return Status(Code::BadArguments, path + ": not an fkemu trace (no \"fkemu_trace\": 1)");
    LoadedTrace t;
    ASSIGN_OR_RETURN(t.scenario, parse_scenario(j.at("scenario"), j.value("scenario_file", path)));
    t.faults = faults_from_json(j.at("faults"));
    t.trace_hash = j.at("trace_hash").get<uint64_t>();
    for (const auto& c : j.at("choices"))
      t.choices.push_back(RecordedChoice{c.at(0).get<uint32_t>(), c.at(1).get<uint32_t>()});
    t.mutant = j.value("mutant", std::string());
    t.seed = j.value("seed", uint64_t{0});
    t.strategy = j.value("strategy", std::string("random"));
    t.finding = Finding{j.at("violation").value("guarantee", std::string()),
                        j.at("violation").value("message", std::string())};
    return t;
  } catch (const json::exception& e) {
    return Status(Code::BadArguments, path + ": malformed trace: " + e.what());
  }
}

size_t non_default_choices(const std::vector<RecordedChoice>& c) {
  size_t n = 0;
  for (const auto& x : c) n += x.chosen != 0;
  return n;
}

namespace {
bool violates(const ScheduleRun& r, const std::string& g) {
  for (const auto& f : r.findings)
    if (f.guarantee == g) return true;
  return false;
}
}  // namespace

ShrinkResult shrink(const Scenario& sc, const ScheduleRun& failing, const std::string& guarantee,
                    const std::string& mutant) {
  ShrinkResult res;
  res.choices_before = non_default_choices(failing.choices);
  res.faults_before = failing.faults.size();
  res.decisions_before = failing.choices.size();
  ScheduleRun best = failing;
  auto attempt = [&](const std::vector<RecordedChoice>& choices,
                     const std::vector<InjectedFault>& faults) {
    ++res.candidates;
    ScheduleRun r = replay_schedule(sc, choices, faults, mutant, failing.seed);
    if (!violates(r, guarantee)) return false;
    r.divergence.clear();
    best = std::move(r);  // its own recorded choices and faults replay strictly
    return true;
  };
  // 1. Faults, one at a time from the last.
  for (size_t i = best.faults.size(); i-- > 0;) {
    if (i >= best.faults.size()) continue;
    auto fewer = best.faults;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(i));
    attempt(best.choices, fewer);
  }
  // 2. The shortest prefix of choices after which oldest-first still fails.
  size_t lo = 0, hi = best.choices.size();
  while (lo < hi && res.candidates < 400) {
    const size_t mid = (lo + hi) / 2;
    std::vector<RecordedChoice> prefix(best.choices.begin(),
                                       best.choices.begin() + static_cast<std::ptrdiff_t>(mid));
    if (attempt(prefix, best.faults)) {
      hi = std::min(mid, best.choices.size());
    } else {
      lo = mid + 1;
    }
  }
  // 3. Each remaining non-default choice set to the default, from the last.
  for (size_t i = best.choices.size(); i-- > 0 && res.candidates < 1000;) {
    if (i >= best.choices.size() || best.choices[i].chosen == 0) continue;
    auto simpler = best.choices;
    simpler[i].chosen = 0;
    attempt(simpler, best.faults);
  }
  res.run = best;
  res.choices_after = non_default_choices(best.choices);
  res.faults_after = best.faults.size();
  res.decisions_after = best.choices.size();
  return res;
}

FailureShrinkResult shrink_failure(const Scenario& sc, const ExploreConfig& cfg,
                                   const ScheduleRun& failing, const std::string& guarantee,
                                   size_t tries) {
  FailureShrinkResult res;
  ScheduleRun small_run = failing;
  res.scenario = shrink_scenario(sc, [&](const Scenario& candidate) {
    ScheduleRun r =
        replay_schedule(candidate, failing.choices, failing.faults, cfg.mutant, failing.seed);
    if (violates(r, guarantee)) {
      r.divergence.clear();  // it went its own way: its own record replays strictly
      small_run = std::move(r);
      return true;
    }
    for (size_t k = 0; k < tries; ++k) {
      r = run_schedule(candidate, cfg, schedule_seed(failing.seed, k));
      if (violates(r, guarantee)) {
        small_run = std::move(r);
        return true;
      }
    }
    return false;
  });
  res.schedule = shrink(res.scenario.scenario, small_run, guarantee, cfg.mutant);
  return res;
}

}  // namespace fkemu
