// The workload generator: scenarios drawn from a seed, in the format of docs/scenarios.md.
//
// Exploration that only replays hand-written scenarios tests what their authors thought of.
// generate_scenario() draws a whole scenario instead: 1 to 5 sessions, sequential or
// concurrent, a small tree of paths (a few parents, a few names, the sequential names the
// parents will hand out) so that operations collide, every operation with every flag and
// version kind, and the configuration (timeouts, heartbeat periods, user store, writer groups,
// latency model). The draws lean towards the cases where coordination services break:
//   * watches set just before their node is created, changed or deleted;
//   * ephemeral nodes of sessions that are about to expire or close, watched by others;
//   * sequential creates under a parent whose children are being deleted.
// A sequential scenario is drawn against the sequential ZooKeeper model, so that "the right
// version" is right and reads hit nodes that exist as often as ones that do not.
//
// A generated scenario is an ordinary scenario: the strict loader accepts it (generation
// fails loudly otherwise), it can be written to a file and read back, and `fkemu run`,
// `explore`, `replay` and `diff-zk` take it. The same seed gives the same scenario, on every
// build and platform (only Rng draws, no unordered containers).
//
// Comparable scenarios (GeneratorOptions::comparable) are the ones `diff-zk --generate` runs on
// a real ZooKeeper: sequential mode, no `expire` or `wait_ms`, data under ZooKeeper's request
// limit, and no operation on "/" itself or on /zookeeper, nor sequential creates right under
// "/": they all run on one server whose tree is cleared in between, and the root's counters
// are what a cleared server keeps.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/scenario.h"

namespace fkemu {

struct GeneratorOptions {
  bool comparable = false;  // for diff-zk: see above
  size_t min_steps = 4;
  size_t max_steps = 30;
  size_t max_sessions = 5;
};

// The seed of the index-th scenario generated from `seed` (generate_scenarios uses it).
uint64_t generated_scenario_seed(uint64_t seed, uint64_t index);

// The scenario file's JSON. Its name is "gen-<seed in hex>" (plus "-zk" when comparable).
nlohmann::json generate_scenario_json(uint64_t seed, const GeneratorOptions& options = {});

// The parsed scenario (its `source` is the JSON above, its `file` empty). Throws
// std::logic_error if the strict loader refuses what the generator drew: a generator bug.
Scenario generate_scenario(uint64_t seed, const GeneratorOptions& options = {});

// `count` scenarios, the i-th from generated_scenario_seed(seed, i).
std::vector<Scenario> generate_scenarios(uint64_t seed, size_t count,
                                         const GeneratorOptions& options = {});

}  // namespace fkemu
