// LocalService: a whole FaaSKeeper deployment in one process, on in-memory fakes: the writer
// and distributor queues with their event-source mappings, the system store, the user store,
// the client channel, and the initial tree ZooKeeper starts with ("/" and "/zookeeper").
//
// Sessions are opened here; each is attached to the channel. Everything runs on the executor
// handed in, so a LocalService is as deterministic as its executor's scheduler.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/protocol/client_session.h"
#include "core/protocol/deployment.h"
#include "core/protocol/distributor.h"
#include "core/protocol/heartbeat.h"
#include "core/protocol/ttl.h"
#include "core/protocol/watch.h"
#include "core/protocol/writer.h"
#include "emulator/function_runtime.h"
#include "emulator/in_process_channel.h"
#include "emulator/kv_object_store.h"
#include "emulator/memory_fifo_queue.h"
#include "emulator/memory_kv_store.h"
#include "emulator/memory_object_store.h"

namespace fkemu {

class LocalService {
 public:
  LocalService(Executor& ex, DeploymentConfig config);
  ~LocalService();

  Deployment& deployment() { return deployment_; }
  Executor& executor() { return ex_; }
  MemoryFifoQueue& writer_queue() { return writer_queue_; }
  MemoryFifoQueue& distributor_queue() { return distributor_queue_; }
  MemoryFifoQueue& watch_queue() { return watch_queue_; }
  MemoryKvStore& system_store() { return system_; }
  // The user store the protocol uses: the object store, or a table of the user KV store.
  ObjectStore& user_store() { return *user_; }
  InProcessChannel& channel() { return channel_; }

  // Creates the session's client (not yet connected: await connect()).
  ClientSession& open_session(const std::string& name);
  ClientSession* session(const std::string& name);
  // Drops a session's client and its channel (fkemu serve, once the session is closed and the
  // client is not busy()); messages for it are dropped from then on, as for a client gone.
  void forget_session(const std::string& name);

  uint64_t writer_invocations() const { return writer_esm_->invocations(); }
  uint64_t distributor_invocations() const { return distributor_esm_->invocations(); }
  uint64_t watch_invocations() const { return watch_esm_->invocations(); }
  uint64_t heartbeat_invocations() const { return heartbeats_; }
  uint64_t ttl_invocations() const { return ttl_sweeps_; }

  // Durable state (fkemu serve --data FILE). Before the executor has run anything: restores
  // every store from `rows` (space, key, value) if there are any, else records the whole
  // initial state; from then on every change of every store is recorded in `journal`.
  // A row no store knows is an error naming it (the file is from something else).
  // A file of another state format is refused, by name, and left as it is.
  // 6: packed records (decision 41); 7: packed watch registrations and messages (decision 43);
  // 8: ACLs in node items and user records (decision 50); 9: TTL nodes in stats (decision 53).
  // A file of format 7 or 8 is read, and marked 9.
  static constexpr const char* kStateFormat = "9";
  Status make_durable(StateJournal& journal,
                      const std::vector<std::tuple<std::string, std::string, std::string>>& rows);
  // Lock owners found in the restored state: instances of the run before, gone.
  const std::set<std::string>& restored_lock_owners() const { return restored_lock_owners_; }

 private:
  void seed_initial_tree();
  Task<void> heartbeat_schedule();

  Executor& ex_;
  MemoryFifoQueue writer_queue_;
  MemoryFifoQueue distributor_queue_;
  MemoryFifoQueue watch_queue_;
  MemoryKvStore system_;
  MemoryObjectStore objects_;
  MemoryKvStore user_kv_;
  KvObjectStore user_kv_objects_{user_kv_};
  ObjectStore* user_;
  InProcessChannel channel_;
  Deployment deployment_;
  Writer writer_;
  Distributor distributor_;
  WatchFunction watch_;
  HeartbeatFunction heartbeat_;
  TtlFunction ttl_;
  std::unique_ptr<EventSourceMapping> writer_esm_;
  std::unique_ptr<EventSourceMapping> distributor_esm_;
  std::unique_ptr<EventSourceMapping> watch_esm_;
  uint64_t heartbeats_ = 0;
  uint64_t ttl_sweeps_ = 0;
  ProcessId heartbeat_pid_ = 0;
  std::map<std::string, std::unique_ptr<ClientSession>> sessions_;
  std::set<std::string> restored_lock_owners_;
};

}  // namespace fkemu
