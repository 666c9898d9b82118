// The writer's decisions, as pure functions of the request and of what the writer read under its
// locks: which items a request locks, the lock and unlock writes, and what the request changes
// or which ZooKeeper error it is answered with. Writer::handle (writer.cc) does the reading, the
// locking, the pushing and the committing around them; tests call them directly.
//
// Every function here is deterministic and does no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/protocol/records.h"
#include "core/runtime/clock.h"
#include "core/services/kv_store.h"
#include "core/status.h"

namespace fkemu {

using LockedItems = std::map<ItemKey, Item>;  // each locked item as the lock left it

// The ephemerals a close must delete, as the session record lists them (first mention only).
std::vector<std::string> session_ephemerals(const std::optional<SessionRecord>& session);

// The items a request locks before it decides, in (table, key) order. A sequential create
// learns its node's name only from the parent, under the parent's lock (sequential_name).
std::set<ItemKey> items_to_lock(const WriteRequest& r, const std::vector<std::string>& ephemerals);

// The name of a sequential create's node: the path and the parent's create counter; nullopt if
// the parent does not exist (the create fails with NoNode and locks nothing more).
std::optional<std::string> sequential_name(const WriteRequest& r, const NodeRecord& parent,
                                           const DeploymentConfig& config);

// The timelock on one item: taken if free or older than the lock lifetime, for `attempt`.
KvWrite lock_write(const ItemKey& key, Time now, const LockOwner& attempt,
                   const DeploymentConfig& config);
// The release of every lock in `items` that `attempt` still holds.
std::vector<KvWrite> unlock_writes(const LockedItems& items, const LockOwner& attempt);

// The names of a multi's sequential creates, decided from the locked items as its operations
// leave the parents' create counters; empty for any other request. The writer locks them
// before it plans (a name stops at the first operation that fails).
std::vector<std::string> sequential_names(const WriteRequest& r, const LockedItems& items, Time now,
                                          const DeploymentConfig& config);

// What a request does, decided from the locked items in ZooKeeper's check order.
struct WritePlan {
  Code error = Code::Ok;  // not Ok: answered with this error, nothing changes
  int failed_op = -1;     // a multi's operation that failed
  std::vector<Change> changes;
  std::optional<std::string> created_path;  // a create's answer: the node's name
  std::vector<OpOutcome> results;           // a multi's, one per operation
  ItemKey anchor;                           // the item whose pending list carries the update
};
// `node_path` is the node the request acts on (a sequential create's full name); `now` is the
// writer instance's own clock.
WritePlan plan_write(const WriteRequest& r, const std::string& node_path, const LockedItems& items,
                     const std::vector<std::string>& ephemerals, Time now,
                     const DeploymentConfig& config);

// The decision of a failed request, recorded in the session with the locks released, so that a
// redelivery answers the same error.
std::vector<KvWrite> failure_writes(const WriteRequest& r, const WritePlan& plan,
                                    const LockedItems& items, const LockOwner& attempt);

}  // namespace fkemu
