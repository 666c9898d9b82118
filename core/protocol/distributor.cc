#include "core/protocol/distributor.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/model/path.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"
#include "core/protocol/watch.h"

namespace fkemu {

Task<void> Distributor::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  const UpdateMessage upd = UpdateMessage::from_message(*message.body);
  const int64_t zxid = static_cast<int64_t>(message.sequence.lo);
  const std::string& session = upd.session;
  const std::string& anchor_table = upd.anchor.first;
  const std::string& anchor_key = upd.anchor.second;
  // The size the distributor's steps are keyed by in the latency model: the update's node data.
  const size_t data_bytes = upd.data_bytes();

  auto send = [&](const WriteAnswer& answer) -> Task<void> {
    if (session.empty()) {  // a request of the service's own: nobody waits for it
      if (d_.on_service_update) d_.on_service_update(zxid, upd);
      co_return;
    }
    const ClientMessage m = answer;
    co_await ex.call("channel.send", "distributor.notify", 0, [&] { d_.channel.send(session, m); });
  };
  // A container the update left empty, after it had children, is deleted by a request of the
  // service's own to the writer (ZooKeeper's container manager; decision 48). Sent again by a
  // redelivery: the queue drops the repeat by its deduplication id, and the writer does
  // nothing if a child came meanwhile.
  auto clean_containers = [&]() -> Task<void> {
    for (const Change& ch : upd.final_changes()) {
      const NodeState node = ch.materialized(zxid);
      const bool empty = FKEMU_MUTANT(d_.config, "container.clean_unused")
                             ? node.exists && node.container && node.children.empty()
                             : node.empty_container();
      if (ch.kind == ChangeKind::Delete || ch.kind == ChangeKind::Keep || !empty) continue;
      WriteRequest cleanup;
      cleanup.req_no = -1;
      DeleteRequest del;
      del.path = ch.path;
      del.only_empty_container = true;
      cleanup.op = del;
      const std::string dedup = "container:" + ch.path + ":" + std::to_string(node.stat.czxid) +
                                ":" + std::to_string(node.stat.cversion);
      (void)co_await ex.call("queue.send", "distributor.clean_container", 0, [&] {
        return d_.writer_queue.send(d_.config.writer_group_per_session ? "containers" : "writes",
                                    dedup, cleanup.to_message(), SendMeta{ex.call_began(), 0});
      });
    }
  };
  auto read_progress = [&](std::string_view step) -> Task<Progress> {
    auto item = co_await ex.call("kv.get", step, 0,
                                 [&] { return d_.system.get(kProgressTable, "distributor"); });
    Progress p;
    if (item) p = Progress::from_item(*item);
    co_return p;
  };

  // 1. Already decided?
  const Progress progress = co_await read_progress("distributor.read_progress");
  if (zxid < progress.last_zxid) co_return;
  if (zxid == progress.last_zxid) {
    // (an update that was dropped, not applied, has no answer and cleans nothing)
    if (progress.last_answer) {
      co_await send(*progress.last_answer);
      co_await clean_containers();
    }
    co_return;
  }

  // 2. Classify.
  auto read_anchor = [&]() -> Task<std::optional<Lockable>> {
    auto item = co_await ex.call("kv.get", "distributor.exec_read", 0,
                                 [&] { return d_.system.get(anchor_table, anchor_key); });
    std::optional<Lockable> l;
    if (item) l = Lockable::from_item(*item);
    co_return l;
  };
  std::optional<Lockable> anchor = co_await read_anchor();
  bool committed = FKEMU_MUTANT(d_.config, "distributor.skip_pending_check") ||
                   (anchor && anchor->has_pending(upd.uid));
  if (!committed && !FKEMU_MUTANT(d_.config, "commit_on_behalf.disabled") && anchor &&
      anchor->locked_by(upd.attempt)) {
    const std::vector<KvWrite> commit = build_commit(upd, zxid);
    auto r = co_await ex.call("kv.transact", "distributor.commit_on_behalf", 0,
                              [&] { return d_.system.transact(commit); });
    committed = r.ok();
    if (!committed) {
      // The writer may have committed itself in the meantime.
      anchor = co_await read_anchor();
      committed = anchor && anchor->has_pending(upd.uid);
    }
  }
  if (!committed) {
    KvWrite w;
    w.table = kProgressTable;
    w.key = "distributor";
    w.conditions.push_back(Condition::absent_or_lt(attr::kLastZxid, zxid));  // never backwards
    w.updates = {Update::set(attr::kLastZxid, zxid), Update::set(attr::kLastAnswer, nullptr)};
    auto r = co_await ex.call("kv.write", "distributor.record_progress", 0,
                              [&] { return d_.system.write(w); });
    if (!r.ok()) {
      // Another instance with the same update (a duplicate delivery) committed and finished
      // it meanwhile: it may have died before it answered, so answer again.
      const Progress now_progress = co_await read_progress("distributor.read_progress");
      if (now_progress.last_zxid == zxid && now_progress.last_answer)
        co_await send(*now_progress.last_answer);
    }
    co_return;
  }

  // 3. Who is owed a notification for this update: they go into the epoch before any record
  //    that reflects the update becomes visible.
  // A closing session's registrations go first: it gets no events, not even for the deletion
  //    of its own ephemerals (as in ZooKeeper), and can receive nothing more.
  if (upd.op == WriteOp::Close) co_await remove_registrations(session);
  // An add_watch registers its persistent watch now, in its place among the updates: every
  // later update is applied after this and finds it (decision 51). A repeat of this step (a
  // duplicate delivery) adds a registration of the same id, which fires once all the same.
  if (upd.op == WriteOp::AddWatch && upd.watch) {
    WatchRegistration reg;
    reg.id = upd.watch->id;
    reg.session = session;
    reg.zxid = zxid;
    reg.op = upd.watch->recursive ? "recursive" : "persistent";
    const std::string key = watch_key(
        upd.watch->path, upd.watch->recursive ? WatchType::Recursive : WatchType::Persistent);
    std::vector<KvWrite> ws(2);
    ws[0].table = kWatchesTable;
    ws[0].key = key;
    ws[0].updates = {Update::append(attr::kRegs, Value(ValueList{reg.to_value()})),
                     Update::add(attr::kVer, 1)};
    ws[1].table = kSessionsTable;
    ws[1].key = session;
    ws[1].updates = {Update::append(attr::kWatchKeys, Value::strings({key}))};
    (void)co_await ex.call("kv.transact", "distributor.add_watch", 0,
                           [&] { return d_.system.transact(ws); });
  }
  const std::vector<Trigger> triggers = triggers_for(upd, zxid);
  // The watch query: the registrations this update fires, per session in trigger order. The
  // watch function notifies exactly these (a close processed after this update can no longer
  // take away an event the update owes).
  WatchQuery fires;
  // The keys of the persistent watches an update may fire (decision 51): each trigger's node's
  // persistent watches, and the recursive ones of the node and of every node above it for the
  // triggers other than NodeChildrenChanged. They are read in one batch with the look's first
  // read (DynamoDB's BatchGetItem), so an update costs the same number of calls whether or not
  // anybody has a persistent watch.
  std::vector<std::vector<std::string>> persistent_keys(triggers.size());  // per trigger
  for (size_t i = 0; i < triggers.size(); ++i) {
    const Trigger& trig = triggers[i];
    persistent_keys[i].push_back(watch_key(trig.path, WatchType::Persistent));
    if (trig.event != EventType::NodeChildrenChanged)
      for (std::string p = trig.path;; p = parent_path(p)) {
        persistent_keys[i].push_back(watch_key(p, WatchType::Recursive));
        if (p == "/") break;
      }
  }
  // The latency model prices one look as one query (the first key's read; the reference
  // distributor queries a node's watches in one call), the rest of its reads as part of it.
  auto query_watches = [&](std::string_view step) -> Task<void> {
    std::set<std::string> seen_keys;         // one-shot: a second trigger of one key in one update
    std::map<std::string, Item> persistent;  // the persistent keys' registrations found
    bool batched = false;
    auto read_persistent = [&] {
      if (batched) return;
      batched = true;
      std::set<std::string_view> looked;  // (a multi's triggers share their ancestors' keys)
      for (const auto& keys : persistent_keys)
        for (const std::string& k : keys)
          if (looked.insert(k).second)
            if (auto item = d_.system.get(kWatchesTable, k))
              persistent.emplace(k, std::move(*item));
    };
    for (size_t index = 0; index < triggers.size(); ++index)
      for (WatchType type : triggers[index].types) {
        const Trigger& trig = triggers[index];
        const std::string key = watch_key(trig.path, type);
        if (!seen_keys.insert(key).second) continue;
        auto item = co_await ex.call("kv.get", step, 0, [&] {
          read_persistent();
          return d_.system.get(kWatchesTable, key);
        });
        step = "distributor.watch_query_more";
        if (!item) continue;
        for (const WatchRegistration& reg : WatchList::from_item(*item).regs) {
          const bool before = reg.zxid < zxid;
          if (!before && !FKEMU_MUTANT(d_.config, "watch.ignore_registration_zxid")) continue;
          fires.add(key, reg, trig, before, index);
        }
      }
    // Each trigger fires, once, every persistent watch of its node and every recursive one
    // above it that was registered before this update (in the update order: an add_watch of a
    // smaller zxid).
    for (size_t i = 0; i < triggers.size() && !persistent.empty(); ++i)
      for (const std::string& key : persistent_keys[i]) {
        auto it = persistent.find(key);
        if (it == persistent.end()) continue;
        for (const WatchRegistration& reg : WatchList::from_item(it->second).regs)
          if (reg.zxid < zxid) fires.add_persistent(key, reg, triggers[i], i);
      }
  };
  auto add_to_epoch = [&](const std::set<std::string>& owed) -> Task<std::vector<std::string>> {
    KvWrite w;
    w.table = kEpochTable;
    w.key = epoch_key(zxid);
    w.updates = {Update::set(attr::kZxid, zxid),
                 Update::append(attr::kSessions, Value::strings({owed.begin(), owed.end()}))};
    auto r = co_await ex.call("kv.write", "distributor.epoch_add", 0,
                              [&] { return d_.system.write(w); });
    std::vector<std::string> sessions;
    if (r.new_item) sessions = EpochEntry::from_item(*r.new_item).sessions;
    co_return sessions;
  };
  co_await query_watches("distributor.watch_query");
  // The epoch's sessions after the add matter only to a late look (step 5); here it is the add.
  if (!fires.found.owed.empty()) (void)co_await add_to_epoch(fires.found.owed);
  auto in_flight = co_await ex.call("kv.scan", "distributor.epoch_scan", 0,
                                    [&] { return d_.system.scan(kEpochTable); });
  Epoch epoch;
  // Every session the epoch names for this update gets its message, whoever named it: another
  // instance with the same update (a duplicate delivery, or one that died after it wrote the
  // epoch and its records) may have found registrations that an earlier update has fired
  // since, and the records it wrote hold those sessions' reads until the message arrives.
  std::set<std::string> notify_sessions;
  for (const auto& [key, item] : in_flight) {
    epoch.push_back(EpochEntry::from_item(item));
    if (key == epoch_key(zxid))
      notify_sessions.insert(epoch.back().sessions.begin(), epoch.back().sessions.end());
  }
  if (FKEMU_MUTANT(d_.config, "epoch.not_attached")) epoch.clear();

  WriteAnswer answer;
  answer.req = upd.req;
  answer.zxid = zxid;
  answer.path = upd.created_path;
  for (const OpOutcome& o : upd.results) {
    answer.results.push_back(o);
    if (o.stat) answer.results.back().stat = materialize_stat(*o.stat, zxid);
  }
  if (FKEMU_MUTANT(d_.config, "distributor.answer_before_write")) {
    WriteAnswer early = answer;
    if (upd.op == WriteOp::SetData || upd.op == WriteOp::Create)
      early.stat = upd.changes.at(0).materialized(zxid).stat;
    co_await send(early);
  }

  // 4. Apply to the user store; a deleted node leaves a tombstone, so that reads of it are held
  //    by the epoch too and a later exists watch knows the deletion's zxid. Each record names
  //    the zxid it reflects and is written with a conditional put, never over a newer one:
  //    an instance whose batch was delivered again to another instance (a visibility timeout
  //    that ran out while it was still working) must not write an older state back.
  //    Every record carries the update's triggers (step 5), packed once and shared.
  Value packed_triggers;
  if (!triggers.empty()) {
    UpdateTriggers all;
    all.zxid = zxid;
    all.triggers = triggers;
    packed_triggers = all.to_value();
  }
  for (const Change& ch : upd.final_changes()) {
    if (ch.kind == ChangeKind::Keep) continue;
    const NodeState node = ch.materialized(zxid);
    if (upd.op != WriteOp::Multi && (ch.kind == ChangeKind::Create || ch.kind == ChangeKind::Set ||
                                     ch.kind == ChangeKind::AclChange))
      answer.stat = node.stat;
    for (;;) {
      auto old = co_await ex.call("user.get", "distributor.exec_update_read", data_bytes,
                                  [&] { return d_.user.get_tagged(ch.path); });
      if (old && UserRecord::zxid_of(*old->object) >= zxid) break;  // a newer state is there
      UserRecord record;
      size_t bytes = 0;
      if (ch.kind == ChangeKind::Delete) {
        record.tombstone = zxid;
      } else {
        record.stat = node.stat;
        record.children = node.children;
        record.acl = node.acl;
        if (ch.kind == ChangeKind::Parent || ch.kind == ChangeKind::AclChange) {
          if (old) record.data = UserRecord::data_of(*old->object);
        } else {
          record.data = ch.data;
          bytes = ch.data.size();
        }
      }
      record.zxid = zxid;
      record.epoch = epoch;
      record.packed_update = packed_triggers;  // (shared by the update's records)
      const std::string etag = old ? old->etag : std::string();
      const Status put = co_await ex.call("user.put", "distributor.exec_update", bytes, [&] {
        return d_.user.put_if(ch.path, record.to_object(), etag);
      });
      if (put.is_ok()) break;
      // ConditionFailed: another distributor instance wrote the record meanwhile; read again.
    }
  }

  // 5. A registration that landed after the first look may have read the old data again
  //    before the records above were visible. Look again: such sessions join the epoch (for
  //    every later record) and get this update's message; until then the records of this
  //    update carry its triggers, from which the client fires the watch itself.
  if (!triggers.empty() && !FKEMU_MUTANT(d_.config, "distributor.no_second_look")) {
    const std::set<std::string> before(fires.found.owed);
    co_await query_watches("distributor.second_look");
    std::set<std::string> late;
    for (const auto& s : fires.found.owed)
      if (!before.count(s) && !notify_sessions.count(s)) late.insert(s);
    if (!late.empty()) {
      const std::vector<std::string> now_owed = co_await add_to_epoch(late);
      notify_sessions = std::set<std::string>(now_owed.begin(), now_owed.end());
    }
  }
  if (!triggers.empty()) {
    // Another instance with this update may have named sessions in the epoch (and in records
    // it wrote) since the scan: they get this message too.
    auto entry = co_await ex.call("kv.get", "distributor.epoch_read", 0,
                                  [&] { return d_.system.get(kEpochTable, epoch_key(zxid)); });
    if (entry) {
      const EpochEntry e = EpochEntry::from_item(*entry);
      notify_sessions.insert(e.sessions.begin(), e.sessions.end());
    }
  }
  if (!notify_sessions.empty() || !fires.found.events.empty()) {
    // The events in the order of the changes that fire them (the second look's come after the
    // first's, a trigger's persistent watches after all the one-shot ones): a session gets a
    // trigger's one-shot events, then its persistent ones, then the next trigger's, as ZooKeeper
    // sends each change and its client fires one-shot watches before persistent ones.
    for (auto& [owner, events] : fires.found.events)
      std::stable_sort(events.begin(), events.end(), [](const FiredEvent& x, const FiredEvent& y) {
        return x.trigger < y.trigger;
      });
    WatchMessage msg = std::move(fires.found);
    msg.zxid = zxid;
    msg.owed = std::move(notify_sessions);
    // One deduplication id per instance: another instance with the same update (a duplicate
    // delivery, a redelivery) may have found other registrations, and its message must not be
    // taken for a retry of this one's. Clients drop the events they already had.
    const std::string dedup = "w:" + std::to_string(zxid) + ":" + std::to_string(ex.current());
    // The group and the deduplication id are never empty: the queue does not refuse the send.
    (void)co_await ex.call("queue.send", "distributor.watch_dispatch", 0, [&] {
      return d_.watch_queue.send("watches", dedup, msg.to_message(), SendMeta{ex.call_began(), 0});
    });
  }

  // 6. Pop and record progress atomically, then answer. Only the first instance to finish
  //    this update pops it: another instance that had the same batch finds the progress
  //    record moved on (and must not pop a later update's uid).
  answer.epoch = epoch;
  std::vector<KvWrite> pop(2);
  pop[0].table = anchor_table;
  pop[0].key = anchor_key;
  pop[0].updates = {Update::remove_head(attr::kPending)};
  pop[1].table = kProgressTable;
  pop[1].key = "distributor";
  pop[1].conditions.push_back(Condition::absent_or_lt(attr::kLastZxid, zxid));
  pop[1].updates = {Update::set(attr::kLastZxid, zxid),
                    Update::set(attr::kLastAnswer, answer.to_value())};
  // ConditionFailed: another instance with this update popped it first; the answer is the same.
  (void)co_await ex.call("kv.transact", "distributor.exec_pop_updates", 0,
                         [&] { return d_.system.transact(pop); });
  co_await send(answer);
  co_await clean_containers();
}

Task<void> Distributor::remove_registrations(const std::string& session) {
  Executor& ex = d_.ex;
  auto sess = co_await ex.call("kv.get", "distributor.close_read_session", 0,
                               [&] { return d_.system.get(kSessionsTable, session); });
  if (!sess) co_return;
  const std::vector<std::string> listed = SessionRecord::from_item(*sess).watch_keys;
  const std::set<std::string> keys(listed.begin(), listed.end());
  for (const auto& key : keys)
    co_await remove_registrations_where(d_, key, [&session](const Value& reg) {
      return WatchRegistration::from_value(reg).session == session;
    });
}

}  // namespace fkemu
