// shrink_scenario(): delta debugging over a scenario's JSON.
//
// A failure found on a generated scenario is easier to read on a smaller one. The shrinker
// tries candidates in this order and keeps each that the predicate accepts: drop runs of steps
// (halves, quarters, ... single steps), drop a session with all its steps, drop config
// entries and the description (never the scenario's own "faults"), then simplify what is left (data
// to "", flags and watch and version removed one at a time, waits shortened). A candidate the
// strict loader refuses is not offered. It stops after `max_candidates` calls of `keep`, and
// returns the smallest accepted scenario (the input itself if none was).
//
// Thread-safety: a pure function of its arguments (`keep` is called on the caller's thread).
#pragma once

#include <cstddef>
#include <functional>

#include "harness/scenario.h"

namespace fkemu {

struct ScenarioShrinkResult {
  Scenario scenario;
  size_t steps_before = 0, steps_after = 0;
  size_t sessions_before = 0, sessions_after = 0;
  size_t candidates = 0;  // calls of `keep`
};

ScenarioShrinkResult shrink_scenario(const Scenario& sc,
                                     const std::function<bool(const Scenario&)>& keep,
                                     size_t max_candidates = 400);

}  // namespace fkemu
