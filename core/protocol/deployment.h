// Deployment: one FaaSKeeper service instance as the protocol functions see it: its cloud
// resources (through core/services interfaces), its configuration, and the executor that runs
// it. The writer, distributor, heartbeat and client library all take a Deployment&.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>

#include "core/protocol/client_channel.h"
#include "core/runtime/executor.h"
#include "core/services/fifo_queue.h"
#include "core/services/kv_store.h"
#include "core/services/object_store.h"

namespace fkemu {

struct DeploymentConfig {
  bool writer_group_per_session = false;  // "writer_groups": "single" | "per_session"
  bool user_store_kv = false;             // "user_store": "object" | "kv"
  Duration lock_lifetime = 7 * kSecond;   // hold at most 5 s plus 2 s for clock drift
  Duration lock_retry_backoff = 50 * kMillisecond;
  Duration session_timeout = 4 * kSecond;
  Duration heartbeat_period = 1 * kSecond;
  Duration visibility_timeout = 30 * kSecond;
  size_t writer_batch = 10;
  size_t distributor_batch = 10;
  size_t watch_batch = 10;
  size_t max_data_bytes = 1024 * 1024;
  // TTL nodes (ZooKeeper's zookeeper.extendedTypesEnabled): a create of one answers
  // Unimplemented unless set, and the TTL function runs only when it is set (decision 53).
  bool ttl_nodes = false;
  std::string mutant;  // a protocol mutant (core/protocol/mutants.h); empty: the real protocol
};

// Tables of the system store.
inline constexpr const char* kNodesTable = "nodes";
inline constexpr const char* kSessionsTable = "sessions";
inline constexpr const char* kProgressTable = "progress";
inline constexpr const char* kWatchesTable = "watches";
// Notifications in flight: one item per update whose watch events are not yet all sent, key =
// epoch_key(zxid), {sessions: [...]}. The distributor attaches the whole table (the epoch) to
// every user-store record and answer it writes while they are there.
inline constexpr const char* kEpochTable = "epoch";
// TTL nodes (decision 53): one item per TTL node created, key = its path, {zxid: its czxid},
// for the TTL function to look at; it deletes an entry whose node is gone.
inline constexpr const char* kTtlTable = "ttl";

inline std::string epoch_key(int64_t zxid) {
  std::string digits = std::to_string(zxid);
  return std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits;
}

struct UpdateMessage;  // core/protocol/records.h

struct Deployment {
  Executor& ex;
  DeploymentConfig config;
  FifoQueue& writer_queue;
  FifoQueue& distributor_queue;
  KvStore& system;
  ObjectStore& user;
  ClientChannel& channel;
  FifoQueue& watch_queue;
  uint64_t next_attempt = 1;  // lock-owner ids of writer attempts; deterministic
  // Called when the distributor has applied an update of the service's own (a container's
  // cleanup), with its zxid; possibly more than once for one zxid (a redelivery). Nobody is
  // answered for such an update, so this is how a harness learns of it.
  std::function<void(int64_t zxid, const UpdateMessage&)> on_service_update = {};
};

}  // namespace fkemu
