// `fkemu run`: executes scenarios (harness/scenario_runner.h), checks their expectations, writes
// their histories.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace fkemu::cli {

struct RunArgs {
  std::vector<std::string> inputs;
  uint64_t seed = 1;
  std::string scheduler = "random";
  std::string history;
  std::string history_dir;
  bool quiet = false;
  bool verbose = false;
};

CLI::App* add_run_command(CLI::App& app, RunArgs& a);
int run(const RunArgs& a);

}  // namespace fkemu::cli
