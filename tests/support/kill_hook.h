// The kill-at-every-await loops: a run that kills one function instance at one of its
// resumption points, chosen by number.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "core/runtime/executor.h"

namespace fkemu::testing {

// Kills the process at its `n`-th resumption among those of processes whose names start with
// `prefix` ("writer#", "distributor#", ...); `reached` becomes true when it happens. n <= 0:
// kills nothing. `reached` must outlive the run.
inline void kill_nth_resumption(Executor& ex, std::string prefix, int n, bool& reached) {
  if (n <= 0) return;
  auto seen = std::make_shared<int>(0);
  ex.set_resume_hook([&ex, prefix = std::move(prefix), n, &reached, seen](const ReadyEntry& e) {
    if (reached || !ex.process_name(e.pid).starts_with(prefix)) return false;
    if (++*seen == n) reached = true;
    return reached;
  });
}

}  // namespace fkemu::testing
