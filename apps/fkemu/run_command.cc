#include "apps/fkemu/run_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/fkemu/command_util.h"
#include "core/runtime/scheduler.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

namespace fkemu::cli {

CLI::App* add_run_command(CLI::App& app, RunArgs& a) {
  auto* cmd =
      app.add_subcommand("run", "Execute scenarios, check their expectations, write histories");
  cmd->add_option("scenarios", a.inputs, "Scenario files or directories of *.json")->required();
  cmd->add_option("--seed", a.seed, "Seed of the run's scheduler and randomness")
      ->capture_default_str();
  cmd->add_option("--scheduler", a.scheduler, "random | oldest-first")->capture_default_str();
  cmd->add_option("--history", a.history,
                  "Write the history (JSON Lines) of the one scenario here");
  cmd->add_option("--history-dir", a.history_dir, "Write NAME.history.jsonl per scenario here");
  cmd->add_flag("--quiet,-q", a.quiet, "Print failures and the totals only");
  cmd->add_flag("--verbose,-v", a.verbose, "Print every history");
  return cmd;
}

int run(const RunArgs& a) {
  std::vector<std::string> files;
  if (!collect_scenario_files(a.inputs, files)) return kExitUsage;
  if (!a.history.empty() && files.size() != 1) {
    std::cerr << "fkemu run: --history takes one scenario; use --history-dir for several\n";
    return kExitUsage;
  }
  if (!make_scheduler(a.scheduler)) {
    std::cerr << "fkemu run: unknown scheduler \"" << a.scheduler
              << "\" (known: random, oldest-first)\n";
    return kExitUsage;
  }
  if (!a.history_dir.empty()) std::filesystem::create_directories(a.history_dir);

  std::vector<std::pair<std::string, Scenario>> loaded;
  for (const auto& f : files) {
    auto sc = load_scenario(f);
    if (!sc.is_ok()) {
      std::cerr << "fkemu: " << sc.status().message() << "\n";
      return kExitUsage;
    }
    loaded.emplace_back(f, std::move(*sc));
  }

  int passed = 0, failed = 0;
  if (!a.quiet)
    std::printf(
        "fkemu run: %zu scenario%s, seed %llu, scheduler %s\n\n  %-32s %-10s %5s %8s  %-6s %s\n",
        loaded.size(), loaded.size() == 1 ? "" : "s", static_cast<unsigned long long>(a.seed),
        a.scheduler.c_str(), "scenario", "mode", "steps", "events", "result", "trace");
  for (const auto& [file, sc] : loaded) {
    RunOptions opt;
    opt.seed = a.seed;
    opt.scheduler = a.scheduler;
    RunOutcome out = run_scenario(sc, opt);
    if (!a.history.empty() && !write_text_file(a.history, history_to_jsonl(out.history))) {
      std::cerr << "fkemu run: cannot write " << a.history << "\n";
      return kExitUsage;
    }
    if (!a.history_dir.empty()) {
      const std::string to =
          (std::filesystem::path(a.history_dir) / (sc.name + ".history.jsonl")).string();
      if (!write_text_file(to, history_to_jsonl(out.history))) {
        std::cerr << "fkemu run: cannot write " << to << "\n";
        return kExitUsage;
      }
    }
    out.ok() ? ++passed : ++failed;
    if (!a.quiet || !out.ok()) {
      char hash[17];
      std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(out.trace_hash));
      std::printf("  %-32s %-10s %5zu %8zu  %-6s %s\n", sc.name.c_str(),
                  sc.mode == ScenarioMode::Sequential ? "sequential" : "concurrent",
                  sc.steps.size(), out.history.size(), out.ok() ? "ok" : "FAILED", hash);
      for (const auto& f : out.expectation_failures)
        std::printf("      expectation: %s\n", f.c_str());
      for (const auto& p : out.problems) std::printf("      problem: %s\n", p.c_str());
      if (a.verbose) std::fputs(history_to_jsonl(out.history).c_str(), stdout);
    }
  }
  std::printf("%sscenarios: %d passed, %d failed\n", a.quiet ? "" : "\n", passed, failed);
  return failed ? kExitFailed : kExitOk;
}

}  // namespace fkemu::cli
