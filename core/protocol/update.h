// Update: the commit transaction of a validated write, which both the writer and the
// distributor (committing on a dead writer's behalf) build from the update message
// (core/protocol/records.h has the records and the message).
#pragma once

#include <cstdint>
#include <vector>

#include "core/protocol/records.h"
#include "core/services/kv_store.h"

namespace fkemu {

// The one commit transaction: every locked item written and unlocked on the condition that the
// attempt still holds its lock, the update appended to the anchor's pending list, and the
// session's last_req advanced on the condition that the request was not decided before.
std::vector<KvWrite> build_commit(const UpdateMessage& update, int64_t zxid);

// The conditions and updates of a timelock held by `owner`.
Condition held_by(const LockOwner& owner);
std::vector<Update> release_lock();

}  // namespace fkemu
