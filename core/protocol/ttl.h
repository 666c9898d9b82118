// The TTL function: the scheduled function that deletes expired TTL nodes (decision 53), as
// ZooKeeper's container manager does on its timer.
//
// Every heartbeat period (only when the deployment has TTL nodes on) an instance reads the
// list of TTL nodes (table "ttl", which the writer's commit adds to) and each node's item. A TTL
// node that has no children and whose data has not changed for longer than its time to live
// (its mtime against the instance's clock; ZooKeeper's rule, elapsed > ttl) gets a delete
// request of the service's own through the writer queue: the writer deletes it only if it is
// still the node read (same czxid and mzxid) and still has no children, so a change that came
// meanwhile keeps it. An entry whose node is gone, or is another node by now, is removed.
// The deduplication id "ttl:<path>:<czxid>:<mzxid>:<pzxid>" makes the requests of several
// instances one, and a node refused because a child came meanwhile is asked again once that
// child is gone (the pzxid moved). A sweep sends at most its period's share of ZooKeeper's
// znode.container.maxPerMinute (10,000 a minute); the others go in the next periods.
#pragma once

#include <cstdint>

#include "core/protocol/deployment.h"
#include "core/runtime/task.h"

namespace fkemu {

inline constexpr int64_t kTtlDeletesPerMinute = 10000;

class TtlFunction {
 public:
  explicit TtlFunction(Deployment& d) : d_(d) {}
  Task<void> sweep();

 private:
  Deployment& d_;
};

}  // namespace fkemu
