#include "emulator/local_service.h"

#include "core/model/stat.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"

namespace fkemu {

LocalService::LocalService(Executor& ex, DeploymentConfig config)
    : ex_(ex),
      writer_queue_("writer", ex),
      distributor_queue_("distributor", ex),
      watch_queue_("watch", ex),
      user_(config.user_store_kv ? static_cast<ObjectStore*>(&user_kv_objects_) : &objects_),
      deployment_{ex,      config, writer_queue_, distributor_queue_,
                  system_, *user_, channel_,      watch_queue_},
      writer_(deployment_),
      distributor_(deployment_),
      watch_(deployment_),
      heartbeat_(deployment_) {
  seed_initial_tree();
  if (FKEMU_MUTANT(config, "fifo.dedup_off")) {
    writer_queue_.disable_deduplication();
    distributor_queue_.disable_deduplication();
    watch_queue_.disable_deduplication();
  }
  writer_esm_ = std::make_unique<EventSourceMapping>(
      ex, writer_queue_, "writer",
      [this](ReceivedMessage m) { return writer_.handle(std::move(m)); }, config.writer_batch,
      config.visibility_timeout);
  distributor_esm_ = std::make_unique<EventSourceMapping>(
      ex, distributor_queue_, "distributor",
      [this](ReceivedMessage m) { return distributor_.handle(std::move(m)); },
      config.distributor_batch, config.visibility_timeout);
  watch_esm_ = std::make_unique<EventSourceMapping>(
      ex, watch_queue_, "watch", [this](ReceivedMessage m) { return watch_.handle(std::move(m)); },
      config.watch_batch, config.visibility_timeout);
  writer_esm_->start();
  distributor_esm_->start();
  watch_esm_->start();
  heartbeat_pid_ = ex.spawn("heartbeat.schedule", heartbeat_schedule(), /*daemon=*/true);
}

LocalService::~LocalService() { ex_.kill(heartbeat_pid_); }

Task<void> LocalService::heartbeat_schedule() {
  for (;;) {
    co_await ex_.sleep(deployment_.config.heartbeat_period, "heartbeat.timer");
    ++heartbeats_;
    ex_.spawn("heartbeat#" + std::to_string(heartbeats_), heartbeat_.tick());
  }
}

void LocalService::seed_initial_tree() {
  // ZooKeeper 3.8 starts with "/" holding "zookeeper", which holds "config" and "quota", all
  // with zero zxids. Their children were not created by transactions, so the create count is
  // 0 and the reported cversion (creates + deletes = 2 * creates - numChildren) is negative;
  // config's aversion is -1 (docs/zookeeper-facts.md).
  struct Seed {
    const char* path;
    std::vector<std::string> children;
    int32_t cversion;
    int32_t aversion;
  };
  const Seed seeds[] = {{"/", {"zookeeper"}, -1, 0},
                        {"/zookeeper", {"config", "quota"}, -2, 0},
                        {"/zookeeper/config", {}, 0, -1},
                        {"/zookeeper/quota", {}, 0, 0}};
  for (const auto& s : seeds) {
    Stat st;
    st.cversion = s.cversion;
    st.aversion = s.aversion;
    st.num_children = static_cast<int32_t>(s.children.size());
    json node{
        {"exists", true}, {"stat", stat_to_json(st)}, {"children", s.children}, {"creates", 0}};
    KvWrite w;
    w.table = kNodesTable;
    w.key = s.path;
    w.kind = KvWrite::Kind::Put;
    w.item = node;
    (void)system_.write(w);
    user_->put(s.path, user_record(node, json::binary({})));
  }
}

ClientSession& LocalService::open_session(const std::string& name) {
  auto& slot = sessions_[name];
  slot = std::make_unique<ClientSession>(deployment_, name);
  ClientSession* s = slot.get();
  channel_.attach(name, [s](const json& m) { s->deliver(m); });
  return *s;
}

ClientSession* LocalService::session(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : it->second.get();
}

}  // namespace fkemu
