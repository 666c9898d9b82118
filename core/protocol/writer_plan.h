// The writer's decisions, as pure functions of the request and of what the writer read under its
// locks: which items a request locks, the lock and unlock writes, and what the request changes
// or which ZooKeeper error it is answered with. Writer::handle (writer.cc) does the reading, the
// locking, the pushing and the committing around them; tests call them directly.
//
// Every function here is deterministic and does no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/runtime/clock.h"
#include "core/services/kv_store.h"
#include "core/status.h"

namespace fkemu {

// A client write request as it arrives in the writer queue (ClientSession writes it).
struct WriteRequest {
  std::string session;
  int64_t req_no = 0;  // < 0: a system request (the heartbeat's close of an expired session)
  std::string op;      // create | delete | set_data | close
  std::string path;
  bool ephemeral = false;
  bool sequential = false;
  int version = -1;
  const nlohmann::json* data = nullptr;  // the node data (a JSON binary); never null for create
                                         // and set_data (from_message throws without it)
  nlohmann::json last_seen;              // a system close: the last_seen the heartbeat read

  // The request of a writer-queue message body; the body must outlive it (data points into it).
  static WriteRequest from_message(const nlohmann::json& body);
  // The size the writer's steps are keyed by in the latency model: the node data.
  size_t data_bytes() const;
};

using ItemKey = std::pair<std::string, std::string>;    // (table, key)
using LockedItems = std::map<ItemKey, nlohmann::json>;  // each locked item as the lock left it

// The ephemerals a close must delete, as the session record lists them (first mention only).
std::vector<std::string> session_ephemerals(const std::optional<nlohmann::json>& session_item);

// The items a request locks before it decides, in (table, key) order. A sequential create
// learns its node's name only from the parent, under the parent's lock (sequential_name).
std::set<ItemKey> items_to_lock(const WriteRequest& r, const std::vector<std::string>& ephemerals);

// The name of a sequential create's node: the path and the parent's create counter; nullopt if
// the parent does not exist (the create fails with NoNode and locks nothing more).
std::optional<std::string> sequential_name(const WriteRequest& r, const nlohmann::json& parent_item,
                                           const DeploymentConfig& config);

// The timelock on one item: taken if free or older than the lock lifetime, for `attempt`.
KvWrite lock_write(const ItemKey& key, Time now, const std::string& attempt,
                   const DeploymentConfig& config);
// The release of every lock in `items` that `attempt` still holds.
std::vector<KvWrite> unlock_writes(const LockedItems& items, const std::string& attempt);

// What a request does, decided from the locked items in ZooKeeper's check order.
struct WritePlan {
  Code error = Code::Ok;  // not Ok: answered with this error, nothing changes
  nlohmann::json changes = nlohmann::json::array();  // Change records (core/protocol/update.h)
  nlohmann::json result = nlohmann::json::object();  // the answer's fields (create: path)
  ItemKey anchor;  // the item whose pending list carries the update
};
// `node_path` is the node the request acts on (a sequential create's full name); `now` is the
// writer instance's own clock.
WritePlan plan_write(const WriteRequest& r, const std::string& node_path, const LockedItems& items,
                     const std::vector<std::string>& ephemerals, Time now,
                     const DeploymentConfig& config);

// The decision of a failed request, recorded in the session with the locks released, so that a
// redelivery answers the same error.
std::vector<KvWrite> failure_writes(const WriteRequest& r, Code error, const LockedItems& items,
                                    const std::string& attempt);

}  // namespace fkemu
