// Heartbeat: the periodic function that keeps sessions alive or expires them.
//
// Every heartbeat period an instance scans the live sessions and pings each; its client answers
// by refreshing last_seen. A session that has not answered for longer than its timeout is
// expired if it does not answer this ping either (within half a period): then a close-session
// request goes through the writer queue, like any write, so its ephemeral nodes are deleted in
// zxid order and their watches fire. Asking first means that pings an instance never sent
// (it died) do not expire a live session.
// The expiry request has req = -1 (a system request) and the deduplication id
// "expire:<session>:<last_seen>", so several instances expiring the same session send it once.
// The item of a closed session is deleted once its close is done with (not locked, nothing
// pending) and two timeouts and four periods have passed since its last sign of life: the
// sessions table holds the live sessions and the recently closed ones (decision 34).
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
