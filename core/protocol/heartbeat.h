// Heartbeat: the periodic function that keeps sessions alive or expires them.
//
// Every heartbeat period an instance scans the live sessions: a session that has not answered
// (its last_seen is older than its timeout) is expired by a close-session request through the
// writer queue, like any write, so its ephemeral nodes are deleted in zxid order and their
// watches fire; every other session is pinged, and its client answers by refreshing last_seen.
// The expiry request has req = -1 (a system request) and the deduplication id
// "expire:<session>:<last_seen>", so several instances expiring the same session send it once.
#pragma once

#include "core/protocol/deployment.h"
#include "core/runtime/task.h"

namespace fkemu {

class HeartbeatFunction {
 public:
  explicit HeartbeatFunction(Deployment& d) : d_(d) {}
  Task<void> tick();

 private:
  Deployment& d_;
};

}  // namespace fkemu
