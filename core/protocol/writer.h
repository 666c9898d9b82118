// Writer: the function behind the writer queue. For each client write request it
//   1. locks the items the request changes (timelock: set if absent or older than the lock
//      lifetime), in (table, key) order so that writers never wait on each other in a cycle;
//   2. validates in ZooKeeper's check order (create: parent NoNode, NodeExists,
//      NoChildrenForEphemerals; delete: NoNode, BadVersion, NotEmpty; set_data: NoNode,
//      BadVersion); on failure records the decision in the session, unlocks and answers;
//   3. pushes the update to the distributor queue: the sequence number is the zxid;
//   4. commits in one conditional transaction (build_commit).
// A redelivered request that the session already decided is not applied again (a failure is
// answered again; a success is answered by the distributor). A commit that fails because the
// lock was lost is retried as a new attempt; the distributor drops the stale push.
#pragma once

#include "core/protocol/deployment.h"
#include "core/runtime/task.h"

namespace fkemu {

class Writer {
 public:
  explicit Writer(Deployment& d) : d_(d) {}
  // Handles one writer-queue message; returns when the request is decided (or the instance is
  // killed at an await point inside).
  Task<void> handle(ReceivedMessage message);

 private:
  Deployment& d_;
};

}  // namespace fkemu
