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
  bool shrink = true;
  bool json = false;
  std::string output;  // the --json result goes here instead of stdout
  bool progress = true;
  std::string trace_dir = ".";
};

int explore(const ExploreArgs& a);

// `fkemu explore merge RESULT.json...`: the --json results of the shards of one exploration
// (same seed, strategy and scenarios; --shard I/N) as one report: schedules, faults and
// per-guarantee counts summed, violations listed once each in schedule order, the shards
// found and missing. The merged report of N shards is the unsharded run's (same schedules, same
// violations), wall time aside.
int explore_merge(const std::vector<std::string>& files, bool json);

struct MutantsArgs {
  std::vector<std::string> inputs;
  uint64_t generate = 0;      // scenarios drawn from --seed by the workload generator
  uint64_t schedules = 5000;  // per mutant, at most
  uint64_t seed = 1;
  bool json = false;
  std::string trace_dir = ".";
};
// Explores every protocol mutant with all fault sites on; reports which were caught.
int mutants(const MutantsArgs& a);
// `shrink_to`: also shrink the trace (scenario and schedule) and write the result there.
int replay(const std::string& trace_path, bool show_history, bool show_decisions = false,
           const std::string& shrink_to = {});

}  // namespace fkemu::cli
