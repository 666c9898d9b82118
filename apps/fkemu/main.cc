// fkemu: the command line. Subcommands:
//   run SCENARIO|DIR...   execute scenarios, check expectations, write histories
//   diff-zk SCENARIO|DIR  compare fkemu's histories with a real Apache ZooKeeper's
//   explore SCENARIO|DIR  explore schedules and faults, judge them, write and shrink traces
//   replay TRACE          replay a trace exactly
//   serve                 run a deployment behind an HTTP/WebSocket API (docs/api.md)
//   shell [URL]           an interactive client of fkemu serve
//   bench                 the benchmark report; bench predict: predicted AWS latency
// Exit status: 0 success, 1 an expectation or guarantee failed, 2 bad usage or unreadable input.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "apps/fkemu/bench_command.h"
#include "apps/fkemu/command_util.h"
#include "apps/fkemu/diff_zk_command.h"
#include "apps/fkemu/explore_command.h"
#include "apps/fkemu/generate_command.h"
#include "apps/fkemu/run_command.h"
#include "apps/fkemu/serve_command.h"
#include "apps/server/server.h"
#include "apps/shell/shell.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"
#include "harness/workload_generator.h"

namespace {

using namespace fkemu;
using cli::kExitFailed;
using cli::kExitOk;
using cli::kExitUsage;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fkemu: a deterministic local emulator and test harness for FaaSKeeper"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fkemu 0.1.0");

  cli::RunArgs run;
  auto* run_cmd = cli::add_run_command(app, run);

#ifdef FKEMU_HAVE_ZOOKEEPER
  cli::DiffZkArgs dz;
  auto* zk_cmd = app.add_subcommand("diff-zk",
                                    "Run sequential scenarios on fkemu, on the checker's ZooKeeper "
                                    "model and on a real Apache ZooKeeper on loopback; compare");
  zk_cmd->add_option("scenarios", dz.inputs, "Scenario files or directories");
  zk_cmd->add_option("--generate", dz.generate,
                     "Also compare N scenarios drawn from --seed by the workload generator");
  zk_cmd->add_option("--seed", dz.seed, "Seed of the generator and of fkemu's runs")
      ->capture_default_str();
  zk_cmd->add_flag("--show", dz.show, "Print the histories of a scenario that differs");
  zk_cmd->add_flag("--json", dz.json, "Print the results as one JSON object");
  zk_cmd->add_option("--out", dz.out_dir, "Where shrunk scenarios that differ are written")
      ->capture_default_str();
#endif

  cli::ExploreArgs ex;
  auto* ex_cmd = app.add_subcommand(
      "explore", "Explore schedules and faults of scenarios; judge, record, shrink");
  ex_cmd->add_option("scenarios", ex.inputs, "Scenario files or directories");
  ex_cmd->add_option("--generate", ex.generate,
                     "Also explore N scenarios drawn from --seed by the workload generator");
  ex_cmd->add_option("--strategy", ex.config.strategy, "random | pct | dfs")->capture_default_str();
  ex_cmd->add_option("--schedules", ex.schedules, "Schedules to run (over all scenarios)")
      ->capture_default_str();
  ex_cmd->add_option("--time-limit", ex.time_limit, "Stop after this many seconds");
  ex_cmd->add_option("--seed", ex.seed, "Exploration seed")->capture_default_str();
  ex_cmd->add_option("--jobs", ex.jobs, "Worker threads (random, pct)")->capture_default_str();
  ex_cmd->add_option("--shard", ex.shard, "Run only schedules i with i mod N = I")
      ->capture_default_str();
  ex_cmd->add_option("--pct-depth", ex.config.pct_depth, "PCT bug depth d")->capture_default_str();
  ex_cmd->add_option("--dfs-depth", ex.config.dfs_depth, "DFS: decisions explored per schedule")
      ->capture_default_str();
  ex_cmd
      ->add_option("--dfs-preemptions", ex.config.dfs_preemptions,
                   "DFS: preemption bound (-1: none)")
      ->capture_default_str();
  ex_cmd->add_flag("--faults", ex.config.faults,
                   "Switch fault sites on (BUGGIFY) where a scenario names none");
  ex_cmd->add_flag("--check-determinism", ex.check_determinism,
                   "Run each schedule twice, compare trace hashes");
  ex_cmd->add_flag("--all", ex.all, "Record and shrink every violation, not only the first");
  ex_cmd->add_flag("!--no-shrink", ex.shrink, "Write the traces of violations without shrinking");
#ifdef FKEMU_MUTANTS
  ex_cmd->add_option("--mutant", ex.config.mutant, "Explore a protocol mutant (fkemu mutants)");
#endif
  std::vector<std::string> merge_files;
  bool merge_json = false;
  auto* merge_cmd = ex_cmd->add_subcommand(
      "merge", "Merge the --json results of explore shards (--shard I/N) into one report");
  merge_cmd->add_option("results", merge_files, "The shards' --json results")->required();
  merge_cmd->add_flag("--json", merge_json, "Print the merged result as JSON");
  ex_cmd->add_flag("--json", ex.json, "Print the results as one JSON object");
  ex_cmd->add_option("--output", ex.output, "With --json: write the result to this file");
  ex_cmd->add_option("--trace-dir", ex.trace_dir, "Where trace files go")->capture_default_str();

  cli::GenerateArgs gen;
  auto* gen_cmd = cli::add_generate_command(app, gen);

  std::string trace_path;
  bool replay_history = false;
  auto* rp_cmd =
      app.add_subcommand("replay", "Replay a trace exactly; print the history and the violation");
  rp_cmd->add_option("trace", trace_path, "A trace file written by fkemu explore")->required();
  rp_cmd->add_flag("--history", replay_history, "Print the replayed history");
  bool replay_decisions = false;
  std::string replay_shrink;
  rp_cmd->add_option("--shrink", replay_shrink,
                     "Shrink a trace that violates (scenario, then schedule); write it here");
  rp_cmd->add_flag("--decisions", replay_decisions,
                   "Print every scheduling decision (virtual time, process, what it awaited)");

  cli::MutantsArgs mu;
  auto* mu_cmd = app.add_subcommand(
      "mutants", "Explore every protocol mutant; report which ones the checks catch");
  mu_cmd->add_option("scenarios", mu.inputs, "Scenario files or directories");
  mu_cmd->add_option("--generate", mu.generate,
                     "Also use N scenarios drawn from --seed by the workload generator");
  mu_cmd->add_option("--schedules", mu.schedules, "Schedules per mutant, at most")
      ->capture_default_str();
  mu_cmd->add_option("--seed", mu.seed, "Exploration seed")->capture_default_str();
  mu_cmd->add_flag("--json", mu.json, "Print a JSON object with the list of mutants");
  mu_cmd->add_option("--trace-dir", mu.trace_dir, "Where the shrunk traces go")
      ->capture_default_str();

  cli::ServeArgs serve_args;
  auto* sv_cmd = cli::add_serve_command(app, serve_args);

  std::string shell_url = "http://127.0.0.1:8980";
  auto* sh_cmd = app.add_subcommand(
      "shell",
      "An interactive client of fkemu serve, like zkCli: create, get, set, delete, deleteall, ls, "
      "stat, printwatches, watches");
  sh_cmd->add_option("url", shell_url, "The server, http://HOST:PORT")->capture_default_str();

  cli::ReportArgs report;
  auto* bench_cmd = app.add_subcommand(
      "bench",
      "The benchmark report: the emulator's speed beside a real ZooKeeper's, and the predicted "
      "AWS latencies (aws-2024 model); see docs/benchmarks.md");
  bench_cmd->add_option("--json", report.json_out, "Write the report as JSON here (- for none)")
      ->capture_default_str();
  bench_cmd->add_option("--plot", report.plot,
                        "Write an SVG plot of the latency CDFs and of "
                        "watch latency against watchers here");
  bench_cmd->add_option("--calibration", report.calibration,
                        "A calibration table (default: the embedded aws-2024 table)");
  bench_cmd->add_option("--samples", report.samples, "Samples per predicted configuration")
      ->capture_default_str()
      ->check(CLI::Range(size_t{10}, size_t{1000000}));
  bench_cmd->add_option("--seconds", report.seconds, "Wall time per measured speed figure")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 600.0));
  bench_cmd->add_flag("--quick", report.quick, "A short run: fewer samples, sizes and watchers");
  bench_cmd->add_flag("!--no-zookeeper", report.zookeeper,
                      "Do not start a real ZooKeeper for the side-by-side figures");
  bench_cmd->add_flag("!--no-speed", report.speed, "Only the predicted latencies");
  bench_cmd->add_option("--seed", report.seed, "Seed of the predictions")->capture_default_str();

  cli::PredictArgs pr;
  auto* pr_cmd = bench_cmd->add_subcommand(
      "predict", "Predicted end-to-end latency on AWS of one operation (aws-2024 model)");
  pr_cmd->add_option("--op", pr.options.op, "set_data | get_data | watch")->capture_default_str();
  pr_cmd->add_option("--size", pr.options.size, "Node data, bytes")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1024 * 1024}));
  pr_cmd->add_option("--memory", pr.options.memory_mb, "Function memory, MB: 512 | 1024 | 2048")
      ->capture_default_str();
  pr_cmd->add_option("--watchers", pr.options.watchers, "watch: sessions watching the node")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  pr_cmd->add_option("--samples", pr.options.samples, "Latencies to measure")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  pr_cmd->add_option("--seed", pr.options.seed, "Seed of the run")->capture_default_str();
  pr_cmd->add_option("--user-store", pr.user_store, "object | kv")->capture_default_str();
  pr_cmd->add_option("--calibration", pr.calibration,
                     "A calibration table (default: the embedded aws-2024 table)");
  pr_cmd->add_flag("--extra-steps", pr.options.extra_steps,
                   "Also price the steps fkemu adds to the reference protocol");
  pr_cmd->add_flag("--json", pr.json, "Print one JSON object");

  // An unknown command is named as such (CLI11 would say that a subcommand is required).
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* c) { return c->get_name() == argv[1]; }).empty()) {
    std::string names;
    for (const CLI::App* c : app.get_subcommands([](CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + c->get_name();
    std::cerr << "fkemu: unknown command \"" << argv[1] << "\" (commands: " << names
              << "; fkemu --help)\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  try {
    if (run_cmd->parsed()) return cli::run(run);
    if (merge_cmd->parsed()) return cli::explore_merge(merge_files, merge_json);
    if (ex_cmd->parsed()) return cli::explore(ex);
    if (gen_cmd->parsed()) return cli::generate(gen);
    if (mu_cmd->parsed()) return cli::mutants(mu);
    if (rp_cmd->parsed())
      return cli::replay(trace_path, replay_history, replay_decisions, replay_shrink);
    if (pr_cmd->parsed()) return cli::bench_predict(pr);
    if (bench_cmd->parsed()) return cli::bench_report(report);
    if (sv_cmd->parsed()) return cli::serve(serve_args, *sv_cmd);
    if (sh_cmd->parsed())
      return run_shell(shell_url, std::cin, std::cout, std::cerr, ::isatty(STDIN_FILENO) != 0);
#ifdef FKEMU_HAVE_ZOOKEEPER
    if (zk_cmd->parsed()) return cli::diff_zk(dz);
#endif
  } catch (const std::exception& e) {
    std::cerr << "fkemu: internal error: " << e.what() << "\n";
    return kExitFailed;
  }
  return kExitUsage;
}
