#include "emulator/local_service.h"

#include <stdexcept>
#include <string_view>

#include "core/model/stat.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"

namespace fkemu {

using json = nlohmann::json;

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
      heartbeat_(deployment_),
      ttl_(deployment_) {
  seed_initial_tree();
  if (FKEMU_MUTANT(config, "fifo.dedup_off")) {
    writer_queue_.disable_deduplication();
    distributor_queue_.disable_deduplication();
    watch_queue_.disable_deduplication();
  }
  writer_esm_ = std::make_unique<EventSourceMapping>(
      ex, writer_queue_, "writer",
      [this](ReceivedMessage m) { return writer_.handle(std::move(m)); }, config.writer_batch,
      config.visibility_timeout, "writer.trigger");
  distributor_esm_ = std::make_unique<EventSourceMapping>(
      ex, distributor_queue_, "distributor",
      [this](ReceivedMessage m) { return distributor_.handle(std::move(m)); },
      config.distributor_batch, config.visibility_timeout, "distributor.trigger");
  watch_esm_ = std::make_unique<EventSourceMapping>(
      ex, watch_queue_, "watch", [this](ReceivedMessage m) { return watch_.handle(std::move(m)); },
      config.watch_batch, config.visibility_timeout, "watch.trigger");
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
    // The TTL function runs on the same schedule, where TTL nodes are on (decision 53).
    if (deployment_.config.ttl_nodes) {
      ++ttl_sweeps_;
      ex_.spawn("ttl#" + std::to_string(ttl_sweeps_), ttl_.sweep());
    }
  }
}

Status LocalService::make_durable(
    StateJournal& journal,
    const std::vector<std::tuple<std::string, std::string, std::string>>& rows) {
  MemoryFifoQueue* queues[] = {&writer_queue_, &distributor_queue_, &watch_queue_};
  bool upgraded_from_older = false;
  if (!rows.empty()) {
    std::string format = "1";  // files of fkemu before the format row have no format row
    for (const auto& [space, key, value] : rows)
      if (space == "meta" && key == "format") format = value;
    // Format 7 is format 9 without ACLs (decision 50), format 8 without TTL nodes (decision
    // 53): read as they are, and marked 9 below, so that an fkemu that reads only the older one
    // refuses the file once it may hold what that one lacks.
    upgraded_from_older = format == "7" || format == "8";
    if (format != kStateFormat && !upgraded_from_older)
      return Status(Code::BadArguments,
                    "the state file has format " + format + " and this fkemu reads format " +
                        kStateFormat +
                        " (every store in the binary encoding of values); it is left as it is: "
                        "give --data a path that does not exist to start fresh");
    system_.clear();
    user_kv_.clear();
    objects_.clear();
    for (const auto& [space, key, value] : rows) {
      auto starts = [&space = space](const std::string& p) { return space.rfind(p, 0) == 0; };
      try {
        if (starts("kv/system/")) {
          system_.restore(space.substr(10), key, value);
        } else if (starts("kv/user/")) {
          user_kv_.restore(space.substr(8), key, value);
        } else if (space == "objects/user") {
          objects_.restore(key, value);
        } else if (starts("queue/")) {
          bool known = false;
          for (MemoryFifoQueue* q : queues)
            if (starts("queue/" + q->name() + "/")) {
              q->restore(space, key, value);
              known = true;
            }
          if (!known) return Status(Code::BadArguments, "unknown queue in state row " + space);
        } else if (space != "meta") {
          return Status(Code::BadArguments, "unknown state row " + space + " " + key);
        }
      } catch (const std::exception& e) {
        return Status(Code::BadArguments,
                      "state row " + space + " " + key + " is damaged: " + e.what());
      }
    }
  }
  // Packed records (decision 41) are decoded only when the protocol needs one: read each once
  // now, so that a damaged one refuses the file by name rather than failing a request later.
  // `read` each row (to be checked, not kept); a damaged one refuses the file as "the state
  // file's <what> <key> <is> damaged".
  auto check_rows = [](const auto& stored, auto read, const char* what, const char* is) -> Status {
    for (const auto& [key, row] : stored) {
      try {
        read(row);
      } catch (const std::exception& e) {
        return Status(Code::BadArguments, std::string("the state file's ") + what + " " + key +
                                              " " + is + " damaged: " + e.what());
      }
    }
    return Status::ok();
  };
  RETURN_IF_ERROR(check_rows(
      system_.scan(kNodesTable), [](const Item& i) { (void)NodeRecord::from_item(i); }, "node item",
      "is"));
  RETURN_IF_ERROR(check_rows(
      system_.scan(kWatchesTable), [](const Item& i) { (void)WatchList::from_item(i); },
      "watch registrations", "are"));
  RETURN_IF_ERROR(check_rows(
      user_store().list(), [](const StoredObject& o) { (void)UserRecord::from_object(*o); },
      "user record", "is"));
  // So are the queued messages, which carry packed nodes too.
  auto check_queue = [](const MemoryFifoQueue& q, auto read) -> Status {
    for (const auto& m : q.snapshot()) {
      try {
        (void)read(*m.body);  // read to be checked, not kept
      } catch (const std::exception& e) {
        return Status(Code::BadArguments, "the state file's " + q.name() + " queue message " +
                                              m.dedup_id + " is damaged: " + e.what());
      }
    }
    return Status::ok();
  };
  RETURN_IF_ERROR(check_queue(writer_queue_, WriteRequest::from_message));
  RETURN_IF_ERROR(check_queue(distributor_queue_, UpdateMessage::from_message));
  RETURN_IF_ERROR(check_queue(watch_queue_, WatchMessage::from_message));
  for (const char* table : {kNodesTable, kSessionsTable})
    for (const auto& [key, item] : system_.scan(table))
      if (auto owner = Lockable::from_item(item).lock_owner) restored_lock_owners_.insert(*owner);
  system_.attach_journal(&journal, "system");
  user_kv_.attach_journal(&journal, "user");
  objects_.attach_journal(&journal, "user");
  for (MemoryFifoQueue* q : queues) q->attach_journal(&journal);
  if (upgraded_from_older) journal.record("meta", "format", std::string(kStateFormat));
  if (rows.empty()) {
    journal.record("meta", "format", std::string(kStateFormat));
    system_.record_all();
    user_kv_.record_all();
    objects_.record_all();
    for (MemoryFifoQueue* q : queues) q->record_all();
  }
  return Status::ok();
}

void LocalService::seed_initial_tree() {
  // ZooKeeper 3.8 starts with "/" holding "zookeeper", which holds "config" and "quota", all
  // with zero zxids. Their children were not created by transactions, so the create count is
  // 0 and the reported cversion (creates + deletes = 2 * creates - numChildren) is negative;
  // config's aversion is -1 (docs/zookeeper-facts.md). config is world-readable only, as on
  // ZooKeeper (reconfig writes it); the others are open (decision 50).
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
    NodeState node{true, st, s.children, 0};
    if (std::string_view(s.path) == "/zookeeper/config")
      node.acl = {AclEntry{perm::kRead, "world", "anyone"}};
    KvWrite w;
    w.table = kNodesTable;
    w.key = s.path;
    w.kind = KvWrite::Kind::Put;
    w.item = Value(ValueMap{{attr::kNode, node.to_value()}});
    const KvResult seeded = system_.write(w);
    UserRecord record;
    record.stat = st;
    record.children = s.children;
    record.acl = node.acl;
    const Status stored = user_->put(s.path, record.to_object());
    if (!seeded.ok() || !stored.is_ok())
      throw std::logic_error("seeding " + std::string(s.path) +
                             " failed: " + (seeded.ok() ? stored : seeded.status).to_string());
  }
}

ClientSession& LocalService::open_session(const std::string& name) {
  auto& slot = sessions_[name];
  slot = std::make_unique<ClientSession>(deployment_, name);
  ClientSession* s = slot.get();
  channel_.attach(name, [s](const ClientMessage& m) { s->deliver(m); });
  return *s;
}

void LocalService::forget_session(const std::string& name) {
  channel_.detach(name);
  sessions_.erase(name);
}

ClientSession* LocalService::session(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : it->second.get();
}

}  // namespace fkemu
