// run_scenario_on_model(): a sequential scenario through the sequential ZooKeeper model alone.
//
// The checker's oracle is ZooKeeperModel (harness/zookeeper_model.h). Nothing in it knows
// about FaaSKeeper, so it can be held against the real ZooKeeper directly: this runner plays a
// sequential scenario's steps on the model and writes the history ZooKeeper 3.8 would record,
// in the format and canonical line order of docs/scenarios.md, as the ZooKeeper reference
// runner records it (invoke; the acting session's events; its answer; every other session's
// events, in the order of "sessions"). `diff-zk` compares it with the real server's history:
// where they differ, the oracle is wrong.
//
// Conventions, as the ZooKeeper reference runner's: an op of a session closed by an earlier
// "close" answers SessionExpired (a second close answers ok); data over 1 MiB answers
// MarshallingError (not comparable); every successful write takes the next zxid, and write
// answers carry it. A concurrent scenario or one with an "expire" step is refused
// (BadArguments, saying why).
//
// Thread-safety: a pure function of its argument.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "core/status.h"
#include "harness/scenario.h"

namespace fkemu {

Result<std::vector<nlohmann::json>> run_scenario_on_model(const Scenario& sc);

}  // namespace fkemu
