// Whether a deployment's stores are at rest, and agree (G7 and G10 at quiescence,
// harness/checker.h): the scenario runner asks at the end of every run, fkemu serve at
// /admin/check.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace fkemu {

class LocalService;

// Checks that the stores are at rest: no pending updates, no held locks (but those of killed
// writer instances, which expire by themselves), queues empty, and the user store's tree (each
// node's stat and children) equal to the system store's. Returns the disagreements.
// `dead_owner`: lock owners known to be gone besides killed instances (fkemu serve: the
// instances of the run before a restart).
std::vector<std::string> quiescence_problems(
    LocalService& service, const std::function<bool(const std::string&)>& dead_owner = {});

}  // namespace fkemu
