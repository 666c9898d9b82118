// `fkemu explore` and `fkemu replay`: see harness/explorer.h for what a schedule and a trace are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/explorer.h"

namespace fkemu::cli {

struct ExploreArgs {
  std::vector<std::string> inputs;
  uint64_t generate = 0;  // scenarios drawn from --seed by the workload generator
  ExploreConfig config;
  uint64_t schedules = 1000;
  double time_limit = 0;  // seconds; 0 = no limit
  uint64_t seed = 1;
  int jobs = 1;
  std::string shard = "0/1";
  bool check_determinism = false;
  bool all = false;  // write and shrink every violation, not only the first
  bool json = false;
  bool progress = true;
  std::string trace_dir = ".";
};

int explore(const ExploreArgs& a);

struct MutantsArgs {
  std::vector<std::string> inputs;
  uint64_t generate = 0;      // scenarios drawn from --seed by the workload generator
  uint64_t schedules = 3000;  // per mutant, at most
  uint64_t seed = 1;
  bool json = false;
  std::string trace_dir = ".";
};
// Explores every protocol mutant with all fault sites on; reports which were caught.
int mutants(const MutantsArgs& a);
int replay(const std::string& trace_path, bool show_history, bool show_decisions = false);

}  // namespace fkemu::cli
