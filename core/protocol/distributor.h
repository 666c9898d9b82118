// Distributor: the function behind the distributor queue, which it consumes strictly in order.
// For each update (zxid = the message's sequence number) it
//   1. skips updates it already handled (its progress record holds the last zxid decided and
//      the answer sent for it, so a redelivered update is answered again but not re-applied);
//   2. classifies the update by reading the anchor item consistently: committed (the update is
//      in `pending`), still locked by the attempt that pushed it (the writer died between push
//      and commit: commit on its behalf), or not committed (the lock was lost: drop it; the
//      writer retries the request as a new attempt);
//   3. enters the sessions owed a notification into the epoch;
//   4. writes each changed node's user-store record (a conditional put that never replaces a
//      newer record; a deleted node leaves a tombstone);
//   5. looks at the watches again, for registrations that landed meanwhile, and hands the
//      events to the watch function through the watch queue;
//   6. pops the update from `pending` and records its progress in one transaction, then
//      answers the client.
// Watches: before any record of the update is visible, the sessions owed a notification enter
// the epoch; every record and the answer carry the epoch and the update's triggers; the watch
// function is invoked through the watch queue (see watch.h). A close removes the session's
// registrations.
#pragma once

#include "core/protocol/deployment.h"
#include "core/runtime/task.h"

namespace fkemu {

class Distributor {
 public:
  explicit Distributor(Deployment& d) : d_(d) {}
  Task<void> handle(ReceivedMessage message);

 private:
  Task<void> remove_registrations(const std::string& session);
  Deployment& d_;
};

}  // namespace fkemu
