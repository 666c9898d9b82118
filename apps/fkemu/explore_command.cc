#include "apps/fkemu/explore_command.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "core/json/json_text.h"
#include "core/protocol/mutants.h"
#include "harness/workload_generator.h"

namespace fkemu::cli {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Violation {
  size_t scenario = 0;
  uint64_t index = 0;
  ScheduleRun run;
  Finding finding;
  std::string trace_file;
  std::string scenario_file;
  std::string shrunk_file;
  ShrinkResult shrunk;
  FailureShrinkResult small;
  std::string shrunk_scenario_file;
  bool shrunk_ok = false;
};

bool parse_shard(const std::string& s, uint64_t* i, uint64_t* n) {
  const auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  try {
    *i = std::stoull(s.substr(0, slash));
    *n = std::stoull(s.substr(slash + 1));
  } catch (...) {
    return false;
  }
  return *n > 0 && *i < *n;
}

std::string safe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s;
}

bool write_json(const std::string& path, const json& j) {
  std::ofstream out(path, std::ios::binary);
  out << j.dump(1) << "\n";
  return static_cast<bool>(out);
}

// Loads every scenario of the inputs (files or directories), then draws `generate` more from
// `seed`; false (the problem printed) if one cannot be read or there are none.
bool load_all(const std::vector<std::string>& inputs, uint64_t generate, uint64_t seed,
              std::vector<Scenario>* out) {
  if (inputs.empty() && generate == 0) {
    std::cerr << "fkemu: give scenario files or directories, or --generate N\n";
    return false;
  }
  for (const auto& in : inputs) {
    auto files = scenario_files(in);
    if (!files.is_ok()) {
      std::cerr << "fkemu: " << files.status().message() << "\n";
      return false;
    }
    for (const auto& f : *files) {
      auto sc = load_scenario(f);
      if (!sc.is_ok()) {
        std::cerr << "fkemu: " << sc.status().message() << "\n";
        return false;
      }
      out->push_back(std::move(*sc));
    }
  }
  for (auto& sc : generate_scenarios(seed, generate)) out->push_back(std::move(sc));
  return true;
}

}  // namespace

int explore(const ExploreArgs& a) {
  uint64_t shard_i = 0, shard_n = 1;
  if (!parse_shard(a.shard, &shard_i, &shard_n)) {
    std::cerr << "fkemu explore: --shard must be I/N with 0 <= I < N, not \"" << a.shard << "\"\n";
    return 2;
  }
  if (a.config.strategy != "random" && a.config.strategy != "pct" && a.config.strategy != "dfs") {
    std::cerr << "fkemu explore: unknown strategy \"" << a.config.strategy
              << "\" (known: random, pct, dfs)\n";
    return 2;
  }
  if (a.config.strategy == "dfs" && shard_n > 1) {
    std::cerr << "fkemu explore: --shard splits random and pct schedules; dfs walks each "
                 "scenario's tree whole\n";
    return 2;
  }
  std::vector<Scenario> scenarios;
  if (!load_all(a.inputs, a.generate, a.seed, &scenarios)) return 2;
  std::filesystem::create_directories(a.trace_dir);

  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> faults_injected{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Violation> violations;
  std::map<std::string, uint64_t> per_guarantee;
  uint64_t nondeterministic = 0;
  json dfs_report = json::array();

  auto consider = [&](size_t si, uint64_t index, ScheduleRun run) {
    faults_injected += run.faults.size();
    if (run.findings.empty()) return;
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& f : run.findings) ++per_guarantee[f.guarantee];
    Violation v;
    v.scenario = si;
    v.index = index;
    v.run = run;
    v.finding = run.findings.front();
    violations.push_back(std::move(v));
    if (!a.all) stop = true;
  };
  auto one = [&](uint64_t index) {
    const size_t si = index % scenarios.size();
    const uint64_t seed = schedule_seed(a.seed, index);
    ScheduleRun run = run_schedule(scenarios[si], a.config, seed);
    if (a.check_determinism) {
      ScheduleRun again = run_schedule(scenarios[si], a.config, seed);
      if (again.trace_hash != run.trace_hash) {
        std::lock_guard<std::mutex> lock(mu);
        ++nondeterministic;
        run.findings.push_back(Finding{"determinism", "the same seed gave trace hashes " +
                                                          std::to_string(run.trace_hash) + " and " +
                                                          std::to_string(again.trace_hash)});
      }
    }
    consider(si, index, std::move(run));
    ++done;
  };

  uint64_t planned = 0;
  if (a.config.strategy == "dfs") {
    planned = a.schedules;
    for (size_t si = 0; si < scenarios.size() && !stop; ++si) {
      DfsExplorer dfs(a.config.dfs_depth, a.config.dfs_preemptions);
      std::vector<RecordedChoice> prefix;
      uint64_t n = 0;
      while (!stop && n < a.schedules && dfs.next(prefix)) {
        if (a.time_limit > 0 && elapsed() > a.time_limit) break;
        ScheduleRun run = run_schedule(scenarios[si], a.config, a.seed, &prefix);
        dfs.record(run.choices);
        consider(si, n, std::move(run));
        ++n;
        ++done;
      }
      dfs_report.push_back({{"scenario", scenarios[si].name},
                            {"schedules", dfs.schedules()},
                            {"complete", dfs.complete()}});
    }
  } else {
    std::vector<uint64_t> indices;
    for (uint64_t i = 0; i < a.schedules; ++i)
      if (i % shard_n == shard_i) indices.push_back(i);
    planned = indices.size();
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (;;) {
        if (stop || (a.time_limit > 0 && elapsed() > a.time_limit)) return;
        const size_t k = next++;
        if (k >= indices.size()) return;
        one(indices[k]);
      }
    };
    std::vector<std::thread> threads;
    for (int j = 0; j < std::max(1, a.jobs); ++j) threads.emplace_back(worker);
    const bool bar = a.progress && !a.json && isatty(2);
    while (bar) {
      bool finished = true;
      {
        const uint64_t d = done;
        finished = d >= planned || stop || (a.time_limit > 0 && elapsed() > a.time_limit);
        const double rate = d / std::max(elapsed(), 1e-9);
        std::fprintf(stderr, "\r  %llu/%llu schedules  %.0f/s  %zu violations  ETA %.0fs   ",
                     static_cast<unsigned long long>(d), static_cast<unsigned long long>(planned),
                     rate, violations.size(), rate > 0 ? (planned - d) / rate : 0.0);
      }
      if (finished) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (auto& t : threads) t.join();
    if (bar) std::fprintf(stderr, "\n");
  }
  const double seconds = elapsed();
  std::sort(violations.begin(), violations.end(), [](const Violation& x, const Violation& y) {
    return std::tie(x.index, x.scenario) < std::tie(y.index, y.scenario);
  });
  if (!a.all && violations.size() > 1) violations.resize(1);

  for (auto& v : violations) {
    const Scenario& sc = scenarios[v.scenario];
    const std::string base = a.trace_dir + "/" + safe(sc.name) + "-" + v.finding.guarantee + "-" +
                             std::to_string(v.run.seed);
    v.trace_file = base + ".trace.json";
    write_json(v.trace_file, trace_to_json(sc, a.config, v.run, v.finding));
    // The scenario beside its trace, as a file `fkemu run` and `explore` take (a generated one
    // exists nowhere else).
    v.scenario_file = base + ".scenario.json";
    write_json(v.scenario_file, sc.source);
    if (a.shrink && v.finding.guarantee != "determinism") {
      v.small = shrink_failure(sc, a.config, v.run, v.finding.guarantee);
      v.shrunk = v.small.schedule;
      v.shrunk_file = base + ".shrunk.trace.json";
      Finding f = v.finding;
      for (const auto& g : v.shrunk.run.findings)
        if (g.guarantee == f.guarantee) f = g;
      write_json(v.shrunk_file,
                 trace_to_json(v.small.scenario.scenario, a.config, v.shrunk.run, f));
      v.shrunk_scenario_file = base + ".shrunk.scenario.json";
      write_json(v.shrunk_scenario_file, v.small.scenario.scenario.source);
      v.shrunk_ok = true;
    }
  }

  const uint64_t n = done;
  const double rate = n / std::max(seconds, 1e-9);
  if (a.json) {
    json out{{"schedules", n},
             {"seconds", seconds},
             {"schedules_per_second", rate},
             {"seed", a.seed},
             {"strategy", a.config.strategy},
             {"faults", a.config.faults},
             {"mutant", a.config.mutant},
             {"requested", a.schedules},
             {"all", a.all},
             {"time_limit", a.time_limit},
             {"inputs", a.inputs},
             {"planned", planned},
             {"shard", a.shard},
             {"scenarios", scenarios.size()},
             {"generated", a.generate},
             {"faults_injected", faults_injected.load()},
             {"per_guarantee", per_guarantee},
             {"violations", json::array()}};
    for (const auto& v : violations) {
      json j{{"guarantee", v.finding.guarantee},
             {"message", v.finding.message},
             {"scenario", scenarios[v.scenario].name},
             {"index", v.index},
             {"seed", v.run.seed},
             {"trace", v.trace_file},
             {"scenario_file", v.scenario_file}};
      if (v.shrunk_ok)
        j["shrunk"] = {{"trace", v.shrunk_file},
                       {"scenario_file", v.shrunk_scenario_file},
                       {"steps_before", v.small.scenario.steps_before},
                       {"steps_after", v.small.scenario.steps_after},
                       {"sessions_before", v.small.scenario.sessions_before},
                       {"sessions_after", v.small.scenario.sessions_after},
                       {"choices_before", v.shrunk.choices_before},
                       {"choices_after", v.shrunk.choices_after},
                       {"faults_before", v.shrunk.faults_before},
                       {"faults_after", v.shrunk.faults_after},
                       {"decisions_before", v.shrunk.decisions_before},
                       {"decisions_after", v.shrunk.decisions_after}};
      out["violations"].push_back(j);
    }
    if (!dfs_report.empty()) out["dfs"] = dfs_report;
    if (a.output.empty()) {
      std::cout << out.dump(1) << "\n";
    } else if (!write_json(a.output, out)) {
      std::cerr << "fkemu explore: cannot write " << a.output << "\n";
      return 2;
    }
  } else {
    std::printf(
        "explore: %llu schedules over %zu scenarios in %.2f s (%.0f schedules/s), strategy %s, "
        "seed %llu, "
        "%llu faults injected\n",
        static_cast<unsigned long long>(n), scenarios.size(), seconds, rate,
        a.config.strategy.c_str(), static_cast<unsigned long long>(a.seed),
        static_cast<unsigned long long>(faults_injected.load()));
    for (const auto& d : dfs_report)
      std::printf("  dfs %-30s %llu distinct schedules%s\n",
                  d["scenario"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(d["schedules"].get<uint64_t>()),
                  d["complete"].get<bool>() ? " (complete within the bounds)" : "");
    for (const char* g : {"G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G10"}) {
      auto it = per_guarantee.find(g);
      std::printf(
          "  %-4s %s\n", g,
          it == per_guarantee.end() ? "ok" : (std::to_string(it->second) + " violations").c_str());
    }
    if (nondeterministic)
      std::printf("  determinism: %llu schedules gave different trace hashes\n",
                  static_cast<unsigned long long>(nondeterministic));
    for (const auto& v : violations) {
      std::printf("\nviolation of %s in %s (seed %llu): %s\n  trace: %s\n  scenario: %s\n",
                  v.finding.guarantee.c_str(), scenarios[v.scenario].name.c_str(),
                  static_cast<unsigned long long>(v.run.seed), v.finding.message.c_str(),
                  v.trace_file.c_str(), v.scenario_file.c_str());
      if (v.shrunk_ok)
        std::printf(
            "  shrunk: %s\n    steps %zu -> %zu, sessions %zu -> %zu (%zu scenarios tried): %s\n"
            "    scheduling choices off the default %zu -> %zu, faults %zu -> %zu, "
            "decisions %zu -> %zu (%d candidates)\n",
            v.shrunk_file.c_str(), v.small.scenario.steps_before, v.small.scenario.steps_after,
            v.small.scenario.sessions_before, v.small.scenario.sessions_after,
            v.small.scenario.candidates, v.shrunk_scenario_file.c_str(), v.shrunk.choices_before,
            v.shrunk.choices_after, v.shrunk.faults_before, v.shrunk.faults_after,
            v.shrunk.decisions_before, v.shrunk.decisions_after, v.shrunk.candidates);
    }
  }
  return violations.empty() && nondeterministic == 0 ? 0 : 1;
}

int mutants(const MutantsArgs& a) {
#ifndef FKEMU_MUTANTS
  (void)a;
  std::cerr << "fkemu mutants: this build has no mutants; configure with -DFKEMU_MUTANTS=ON\n";
  return 2;
#else
  // The workloads: the given scenarios ("bundled") and the generated ones, each explored on
  // its own so that the schedules until a mutant is caught can be compared.
  std::vector<std::pair<std::string, std::vector<Scenario> > > workloads;
  if (!a.inputs.empty()) {
    std::vector<Scenario> given;
    if (!load_all(a.inputs, 0, a.seed, &given)) return 2;
    workloads.emplace_back("bundled", std::move(given));
  }
  if (a.generate > 0) workloads.emplace_back("generated", generate_scenarios(a.seed, a.generate));
  if (workloads.empty()) {
    std::cerr << "fkemu mutants: give scenario files or directories, or --generate N\n";
    return 2;
  }
  std::filesystem::create_directories(a.trace_dir);
  json report = json::array();
  // Explores `mutant` (empty: the correct protocol) on `scenarios` until the first violation;
  // fills `entry` with where it was caught, shrunk.
  auto explore_one = [&](const std::string& mutant, const std::string& workload,
                         const std::vector<Scenario>& scenarios, json& entry) -> uint64_t {
    ExploreConfig cfg;
    cfg.faults = true;
    cfg.mutant = mutant;
    uint64_t violations = 0;
    for (uint64_t i = 0; i < a.schedules; ++i) {
      const Scenario& sc = scenarios[i % scenarios.size()];
      // Random walks and PCT take turns: each finds bugs the other misses.
      cfg.strategy = (i / scenarios.size()) % 2 ? "pct" : "random";
      ScheduleRun run = run_schedule(sc, cfg, schedule_seed(a.seed, i));
      if (run.findings.empty()) continue;
      ++violations;
      if (mutant.empty()) {
        entry["violations"].push_back({{"workload", workload},
                                       {"scenario", sc.name},
                                       {"guarantee", run.findings.front().guarantee},
                                       {"message", run.findings.front().message}});
        continue;
      }
      const Finding f = run.findings.front();
      ShrinkResult sr = shrink(sc, run, f.guarantee, mutant);
      const std::string file = a.trace_dir + "/mutant-" + mutant +
                               (workload == "bundled" ? "" : "-" + workload) + ".trace.json";
      std::ofstream(file) << trace_to_json(sc, cfg, sr.run, f).dump(1) << "\n";
      entry = {{"caught", true},
               {"schedules", i + 1},
               {"guarantee", f.guarantee},
               {"scenario", sc.name},
               {"message", f.message},
               {"trace", file},
               {"trace_length", sr.run.choices.size()},
               {"trace_choices", sr.choices_after},
               {"trace_faults", sr.faults_after}};
      return violations;
    }
    return violations;
  };
  int caught_everywhere = 0;
  for (const auto& m : protocol_mutants()) {
    json entry{{"name", m.name}};
    bool everywhere = true;
    std::string line;
    for (size_t w = 0; w < workloads.size(); ++w) {
      json result{{"caught", false},
                  {"schedules", a.schedules},
                  {"guarantee", nullptr},
                  {"trace_length", nullptr}};
      explore_one(m.name, workloads[w].first, workloads[w].second, result);
      everywhere = everywhere && result["caught"].get<bool>();
      // The first workload's result is the entry itself (the report of a run without
      // --generate is unchanged); the generated one's goes under "generated".
      if (w == 0) {
        for (const auto& [k, v] : result.items()) entry[k] = v;
      } else {
        entry[workloads[w].first] = result;
      }
      line += "  " + workloads[w].first + ": " +
              (result["caught"].get<bool>()
                   ? "caught after " + std::to_string(result["schedules"].get<uint64_t>()) +
                         " schedules (" + result["guarantee"].get<std::string>() + ", " +
                         std::to_string(result["trace_length"].get<size_t>()) + " decisions)"
                   : "NOT caught in " + std::to_string(a.schedules) + " schedules");
    }
    entry["caught_everywhere"] = everywhere;
    entry["breaks"] = m.breaks;
    caught_everywhere += everywhere;
    report.push_back(entry);
    if (!a.json) std::printf("  %-34s%s\n", m.name, line.c_str());
  }
  json baseline{{"violations", json::array()}};
  uint64_t clean = 0;
  for (const auto& [workload, scenarios] : workloads)
    clean += explore_one("", workload, scenarios, baseline);
  // --json prints the list of mutants on stdout; the summary (with the correct protocol's
  // result) goes to stdout as text, or to stderr with --json. The exit status is 0 only if
  // every mutant was caught on every workload and the correct protocol showed no violation.
  if (a.json) std::cout << report.dump(1) << "\n";
  std::FILE* out = a.json ? stderr : stdout;
  std::string workload_names;
  for (const auto& w : workloads)
    workload_names += (workload_names.empty() ? "" : " and ") + w.first;
  std::fprintf(out,
               "%s%d of %zu mutants caught on %s workloads; the correct protocol: %llu "
               "violations in %llu schedules\n",
               a.json ? "" : "\n", caught_everywhere, protocol_mutants().size(),
               workload_names.c_str(), static_cast<unsigned long long>(clean),
               static_cast<unsigned long long>(a.schedules * workloads.size()));
  for (const auto& v : baseline["violations"])
    std::fprintf(out, "  correct protocol: %s in %s (%s): %s\n",
                 v["guarantee"].get<std::string>().c_str(),
                 v["scenario"].get<std::string>().c_str(), v["workload"].get<std::string>().c_str(),
                 v["message"].get<std::string>().c_str());
  const bool all_caught = caught_everywhere == static_cast<int>(protocol_mutants().size());
  return clean == 0 && all_caught ? 0 : 1;
#endif
}

int replay(const std::string& path, bool show_history, bool show_decisions,
           const std::string& shrink_to) {
  auto t = load_trace(path);
  if (!t.is_ok()) {
    std::cerr << "fkemu replay: " << t.status().message() << "\n";
    return 2;
  }
  ScheduleRun run =
      replay_schedule(t->scenario, t->choices, t->faults, t->mutant, t->seed, show_decisions);
  if (!run.divergence.empty() || run.trace_hash != t->trace_hash) {
    std::cerr << "fkemu replay: " << path << " does not replay on this build: "
              << (run.divergence.empty()
                      ? "the trace hash differs (" + std::to_string(run.trace_hash) +
                            " instead of " + std::to_string(t->trace_hash) + ")"
                      : run.divergence)
              << "\n";
    return 2;
  }
  for (const auto& d : run.decision_log) std::printf("%s\n", d.c_str());
  if (show_history) std::fputs(history_to_jsonl(run.outcome.history).c_str(), stdout);
  for (const auto& f : run.faults)
    std::printf("injected fault: %s at decision %llu, t=%lld us (amount %lld)\n", f.site.c_str(),
                static_cast<unsigned long long>(f.step), static_cast<long long>(f.t),
                static_cast<long long>(f.amount));
  for (const auto& s : run.outcome.silent_stops)
    std::printf("session %s stopped answering heartbeats at t=%lld us (injected)\n",
                s.session.c_str(), static_cast<long long>(s.t));
  std::printf("replayed %s: %zu decisions, %zu faults, trace hash %016llx (identical)\n",
              path.c_str(), run.choices.size(), run.faults.size(),
              static_cast<unsigned long long>(run.trace_hash));
  if (run.findings.empty()) {
    std::printf("no violation\n");
    return 0;
  }
  for (const auto& f : run.findings)
    std::printf("violation of %s: %s\n", f.guarantee.c_str(), f.message.c_str());
  if (!shrink_to.empty()) {
    ExploreConfig cfg;
    cfg.strategy = t->strategy == "dfs" ? "random" : t->strategy;
    cfg.faults = !t->faults.empty();  // fresh schedules of candidates inject faults too
    cfg.mutant = t->mutant;
    const std::string g =
        t->finding.guarantee.empty() ? run.findings.front().guarantee : t->finding.guarantee;
    const FailureShrinkResult small = shrink_failure(t->scenario, cfg, run, g);
    Finding f{g, ""};
    for (const auto& x : small.schedule.run.findings)
      if (x.guarantee == g) f = x;
    if (!write_json(shrink_to,
                    trace_to_json(small.scenario.scenario, cfg, small.schedule.run, f))) {
      std::cerr << "fkemu replay: cannot write " << shrink_to << "\n";
      return 2;
    }
    std::printf("shrunk to %s: steps %zu -> %zu, sessions %zu -> %zu, decisions %zu -> %zu\n",
                shrink_to.c_str(), small.scenario.steps_before, small.scenario.steps_after,
                small.scenario.sessions_before, small.scenario.sessions_after,
                small.schedule.decisions_before, small.schedule.decisions_after);
  }
  return 1;
}

int explore_merge(const std::vector<std::string>& files, bool json_out) {
  if (files.empty()) {
    std::cerr << "fkemu explore merge: give the --json results of the shards\n";
    return 2;
  }
  json merged;
  std::map<uint64_t, json> shards;  // shard index -> its result
  uint64_t shard_count = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    json j;
    try {
      if (!in) throw std::runtime_error("cannot be read");
      std::stringstream text;
      text << in.rdbuf();
      auto parsed = parse_json(text.str(), "the file");
      if (!parsed.is_ok()) throw std::runtime_error(parsed.status().message());
      j = std::move(*parsed);
      if (!j.is_object() || !j.contains("schedules") || !j.contains("violations") ||
          !j.contains("shard"))
        throw std::runtime_error("not the --json result of fkemu explore");
    } catch (const std::exception& e) {
      std::cerr << "fkemu explore merge: " << f << ": " << e.what() << "\n";
      return 2;
    }
    uint64_t i = 0, n = 1;
    if (!parse_shard(j.value("shard", std::string()), &i, &n)) {
      std::cerr << "fkemu explore merge: " << f << ": bad shard " << j["shard"] << "\n";
      return 2;
    }
    if (merged.is_null()) {
      merged = j;
      shard_count = n;
    } else {
      for (const char* k : {"seed", "strategy", "scenarios", "generated", "faults", "mutant",
                            "requested", "all", "time_limit", "inputs"})
        if (j.value(k, json()) != merged.value(k, json())) {
          std::cerr << "fkemu explore merge: " << f << ": \"" << k << "\" is " << j.value(k, json())
                    << ", not " << merged.value(k, json()) << " as in " << files.front()
                    << ": not shards of one exploration\n";
          return 2;
        }
      if (n != shard_count) {
        std::cerr << "fkemu explore merge: " << f << ": shard " << j["shard"] << " of " << n
                  << ", the others of " << shard_count << "\n";
        return 2;
      }
    }
    if (!shards.emplace(i, std::move(j)).second) {
      std::cerr << "fkemu explore merge: " << f << ": shard " << i << "/" << n
                << " is given twice\n";
      return 2;
    }
  }
  uint64_t schedules = 0, planned = 0, faults = 0;
  double seconds = 0, cpu_seconds = 0;
  std::map<std::string, uint64_t> per_guarantee;
  std::vector<json> violations;
  json present = json::array(), missing = json::array();
  for (uint64_t i = 0; i < shard_count; ++i) {
    auto it = shards.find(i);
    if (it == shards.end()) {
      missing.push_back(i);
      continue;
    }
    const json& j = it->second;
    present.push_back(i);
    schedules += j.value("schedules", uint64_t{0});
    planned += j.value("planned", uint64_t{0});
    faults += j.value("faults_injected", uint64_t{0});
    seconds = std::max(seconds, j.value("seconds", 0.0));
    cpu_seconds += j.value("seconds", 0.0);
    const json counts = j.value("per_guarantee", json::object());
    for (const auto& [g, c] : counts.items()) per_guarantee[g] += c.get<uint64_t>();
    for (const auto& v : j["violations"]) violations.push_back(v);
  }
  std::sort(violations.begin(), violations.end(), [](const json& x, const json& y) {
    return std::make_pair(x.value("index", uint64_t{0}), x.value("scenario", std::string())) <
           std::make_pair(y.value("index", uint64_t{0}), y.value("scenario", std::string()));
  });
  merged["schedules"] = schedules;
  merged["planned"] = planned;
  merged["faults_injected"] = faults;
  merged["seconds"] = seconds;  // the slowest shard: the wall time of a parallel run
  merged["cpu_seconds"] = cpu_seconds;
  merged["schedules_per_second"] = cpu_seconds > 0 ? schedules / cpu_seconds : 0.0;
  merged["per_guarantee"] = per_guarantee;
  merged["violations"] = violations;
  merged["shard"] = "merged";
  merged["shards"] = {{"of", shard_count}, {"present", present}, {"missing", missing}};
  // Shards that stop at their first violation (no --all) or at a time limit explore less than
  // the unsharded run would have.
  merged["equals_unsharded"] =
      missing.empty() && merged.value("all", false) && merged.value("time_limit", 0.0) == 0.0;
  if (json_out) {
    std::cout << merged.dump(1) << "\n";
  } else {
    if (!merged["equals_unsharded"].get<bool>() && missing.empty())
      std::printf(
          "explore merge: the shards ran without --all or with a time limit: each "
          "stopped early, so this is less than the unsharded run\n");
    std::printf(
        "explore merge: %zu of %llu shards, %llu schedules (%.0f schedules/s per core), "
        "%llu faults injected, %zu violations%s\n",
        present.size(), static_cast<unsigned long long>(shard_count),
        static_cast<unsigned long long>(schedules), merged["schedules_per_second"].get<double>(),
        static_cast<unsigned long long>(faults), violations.size(),
        missing.empty() ? "" : (", shards missing: " + missing.dump()).c_str());
    for (const auto& v : violations)
      std::printf("  %s in %s (seed %llu): %s\n", v.value("guarantee", std::string()).c_str(),
                  v.value("scenario", std::string()).c_str(),
                  static_cast<unsigned long long>(v.value("seed", uint64_t{0})),
                  v.value("message", std::string()).substr(0, 200).c_str());
  }
  if (!missing.empty()) return 2;
  return violations.empty() ? 0 : 1;
}

}  // namespace fkemu::cli
