// `fkemu diff-zk`: fkemu, the checker's sequential ZooKeeper model and a real Apache ZooKeeper
// 3.8 on loopback answer the same sequential scenarios; every difference is printed field by
// field (harness/history_diff.h).
//
// Scenario files run each on a fresh server (root counters must not leak between them).
// `--generate N` draws N comparable scenarios from --seed (harness/workload_generator.h) and
// runs them all on one server, each in a fresh chroot (its "/" an ordinary node; comparable
// scenarios never touch "/" itself). A difference is shrunk (harness/scenario_shrink.h: the
// smallest scenario that still differs the same way, each candidate run on the server again)
// and written to --out as NAME.diff.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fkemu::cli {

struct DiffZkArgs {
  std::vector<std::string> inputs;
  uint64_t seed = 1;
  uint64_t generate = 0;
  bool show = false;
  bool json = false;
  std::string out_dir = ".";
};

// 0: every scenario identical on all three; 1: a difference; 2: bad input or no ZooKeeper.
int diff_zk(const DiffZkArgs& a);

}  // namespace fkemu::cli
