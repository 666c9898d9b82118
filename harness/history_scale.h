// Large histories for the checker's scale test and throughput benchmark.
//
// A block is the history of one real run of the sequential scenario block_scenario() (three
// sessions working on /n0 and its children: creates, sequential and ephemeral children,
// watches of every kind and their events, sets with and without versions, deletes, error
// answers). scaled_history() repeats the block with every copy on its own node /n<k>, its
// zxids, stats, ids and times shifted past the copies before it: a valid history of any size,
// which the checker must accept, and into which a test can plant one violation.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "harness/scenario.h"

namespace fkemu {

const Scenario& block_scenario();
// The block's history, recorded once by running block_scenario() on the emulator.
const std::vector<nlohmann::json>& block_history();
// At least `lines` lines: whole copies of the block.
std::vector<nlohmann::json> scaled_history(size_t lines);

}  // namespace fkemu
