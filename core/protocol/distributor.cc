#include "core/protocol/distributor.h"

#include <set>

#include "core/protocol/mutants.h"
#include "core/protocol/update.h"
#include "core/protocol/watch.h"

namespace fkemu {

using json = nlohmann::json;

Task<void> Distributor::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  const json& upd = *message.body;
  const int64_t zxid = static_cast<int64_t>(message.sequence.lo);
  const std::string session = upd.at("session").get<std::string>();
  const std::string uid = upd.at("uid").get<std::string>();
  const std::string anchor_table = upd.at("anchor").at("table").get<std::string>();
  const std::string anchor_key = upd.at("anchor").at("key").get<std::string>();
  // The size the distributor's steps are keyed by in the latency model: the update's node data.
  size_t data_bytes = 0;
  for (const json& ch : upd.at("changes"))
    if (ch.contains("data")) data_bytes += ch.at("data").get_binary().size();

  auto send = [&](const json& answer) -> Task<void> {
    co_await ex.call("channel.send", "distributor.notify", 0,
                     [&] { d_.channel.send(session, answer); });
  };

  // 1. Already decided?
  auto progress = co_await ex.call("kv.get", "distributor.read_progress", 0,
                                   [&] { return d_.system.get(kProgressTable, "distributor"); });
  const int64_t last = progress ? progress->value("last_zxid", int64_t{0}) : 0;
  if (zxid < last) co_return;
  if (zxid == last) {
    const json answer = progress->value("last_answer", json());
    if (answer.is_object()) co_await send(answer);
    co_return;
  }

  // 2. Classify.
  auto anchor = co_await ex.call("kv.get", "distributor.exec_read", 0,
                                 [&] { return d_.system.get(anchor_table, anchor_key); });
  bool committed = FKEMU_MUTANT(d_.config, "distributor.skip_pending_check") ||
                   (anchor && list_contains(*anchor, "pending", uid));
  if (!committed && !FKEMU_MUTANT(d_.config, "commit_on_behalf.disabled") && anchor &&
      anchor->value("lock_owner", std::string()) == upd.at("attempt")) {
    const std::vector<KvWrite> commit = build_commit(upd, zxid);
    auto r = co_await ex.call("kv.transact", "distributor.commit_on_behalf", 0,
                              [&] { return d_.system.transact(commit); });
    committed = r.ok();
    if (!committed) {
      // The writer may have committed itself in the meantime.
      anchor = co_await ex.call("kv.get", "distributor.exec_read", 0,
                                [&] { return d_.system.get(anchor_table, anchor_key); });
      committed = anchor && list_contains(*anchor, "pending", uid);
    }
  }
  if (!committed) {
    KvWrite w;
    w.table = kProgressTable;
    w.key = "distributor";
    w.conditions.push_back(Condition::absent_or_lt("last_zxid", zxid));  // never backwards
    w.updates = {Update::set("last_zxid", zxid), Update::set("last_answer", nullptr)};
    auto r = co_await ex.call("kv.write", "distributor.record_progress", 0,
                              [&] { return d_.system.write(w); });
    if (!r.ok()) {
      // Another instance with the same update (a duplicate delivery) committed and finished
      // it meanwhile: it may have died before it answered, so answer again.
      auto now_progress = co_await ex.call("kv.get", "distributor.read_progress", 0, [&] {
        return d_.system.get(kProgressTable, "distributor");
      });
      if (now_progress && now_progress->value("last_zxid", int64_t{0}) == zxid) {
        const json answer = now_progress->value("last_answer", json());
        if (answer.is_object()) co_await send(answer);
      }
    }
    co_return;
  }

  // 3. Who is owed a notification for this update: they go into the epoch before any record
  //    that reflects the update becomes visible.
  // A closing session's registrations go first: it gets no events, not even for the deletion
  //    of its own ephemerals (as in ZooKeeper), and can receive nothing more.
  if (upd.at("op") == "close") co_await remove_registrations(session);
  const json triggers = triggers_for(upd, zxid);
  // The watch query: the registrations this update fires, per session in trigger order. The
  // watch function notifies exactly these (a close processed after this update can no longer
  // take away an event the update owes).
  WatchQuery fires;
  // The latency model prices one look as one query (the first key's read; the reference
  // distributor queries a node's watches in one call), the rest of its reads as part of it.
  auto query_watches = [&](std::string_view step) -> Task<void> {
    std::set<std::string> seen_keys;  // one-shot: a second trigger of one key in one update
    for (const json& trig : triggers)
      for (const auto& type : trig.at("types")) {
        const std::string key =
            watch_key(trig.at("path").get<std::string>(), type.get<std::string>());
        if (!seen_keys.insert(key).second) continue;
        auto item =
            co_await ex.call("kv.get", step, 0, [&] { return d_.system.get(kWatchesTable, key); });
        step = "distributor.watch_query_more";
        if (!item) continue;
        for (const json& reg : item->value("regs", json::array())) {
          const bool before = reg.at("zxid").get<int64_t>() < zxid;
          if (!before && !FKEMU_MUTANT(d_.config, "watch.ignore_registration_zxid")) continue;
          fires.add(key, reg, trig, before);
        }
      }
  };
  auto add_to_epoch = [&](const std::set<std::string>& owed) -> Task<json> {
    KvWrite w;
    w.table = kEpochTable;
    w.key = epoch_key(zxid);
    w.updates = {Update::set("zxid", zxid), Update::append("sessions", json(owed))};
    auto r = co_await ex.call("kv.write", "distributor.epoch_add", 0,
                              [&] { return d_.system.write(w); });
    co_return r.new_item ? r.new_item->value("sessions", json::array()) : json::array();
  };
  co_await query_watches("distributor.watch_query");
  // The epoch's sessions after the add matter only to a late look (step 5); here it is the add.
  if (!fires.owed.empty()) (void)co_await add_to_epoch(fires.owed);
  auto in_flight = co_await ex.call("kv.scan", "distributor.epoch_scan", 0,
                                    [&] { return d_.system.scan(kEpochTable); });
  json epoch = json::array();
  // Every session the epoch names for this update gets its message, whoever named it: another
  // instance with the same update (a duplicate delivery, or one that died after it wrote the
  // epoch and its records) may have found registrations that an earlier update has fired
  // since, and the records it wrote hold those sessions' reads until the message arrives.
  json notify_sessions = json::array();
  for (const auto& [key, item] : in_flight) {
    epoch.push_back({{"z", item.at("zxid")}, {"s", item.value("sessions", json::array())}});
    if (key == epoch_key(zxid)) notify_sessions = item.value("sessions", json::array());
  }

  if (FKEMU_MUTANT(d_.config, "distributor.answer_before_write")) {
    json early{{"type", "result"},
               {"req", upd.at("req")},
               {"zxid", zxid},
               {"result", upd.value("result", json::object())}};
    if (upd.at("op") == "set_data")
      early["result"]["stat"] = materialize(upd.at("changes").at(0), zxid).at("stat");
    if (upd.at("op") == "create")
      early["result"]["stat"] = materialize(upd.at("changes").at(0), zxid).at("stat");
    co_await send(early);
  }

  // 4. Apply to the user store; a deleted node leaves a tombstone, so that reads of it are held
  //    by the epoch too and a later exists watch knows the deletion's zxid. Each record names
  //    the zxid it reflects and is written with a conditional put, never over a newer one:
  //    an instance whose batch was delivered again to another instance (a visibility timeout
  //    that ran out while it was still working) must not write an older state back.
  json result = upd.value("result", json::object());
  for (const json& ch : upd.at("changes")) {
    const std::string path = ch.at("path").get<std::string>();
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    if (kind != "delete" && kind != "create" && kind != "set" && kind != "parent") continue;
    const json node = materialize(ch, zxid);
    if (kind == "create" || kind == "set") result["stat"] = node.at("stat");
    for (;;) {
      auto old = co_await ex.call("user.get", "distributor.exec_update_read", data_bytes,
                                  [&] { return d_.user.get_tagged(path); });
      if (old && old->object.value("zxid", int64_t{0}) >= zxid) break;  // a newer state is there
      json record;
      size_t bytes = 0;
      if (kind == "delete") {
        record = json{{"tombstone", zxid}};
      } else if (kind == "parent") {
        json data = old ? old->object.value("data", json::binary({})) : json::binary({});
        record = user_record(node, std::move(data));
      } else {
        const json& data = ch.at("data");
        bytes = data.get_binary().size();
        record = user_record(node, data);
      }
      record["zxid"] = zxid;
      if (!FKEMU_MUTANT(d_.config, "epoch.not_attached")) record["epoch"] = epoch;
      if (!triggers.empty()) record["update"] = json{{"zxid", zxid}, {"triggers", triggers}};
      const std::string etag = old ? old->etag : std::string();
      const Status put = co_await ex.call("user.put", "distributor.exec_update", bytes, [&] {
        return d_.user.put_if(path, std::move(record), etag);
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
    const std::set<std::string> before(fires.owed);
    co_await query_watches("distributor.second_look");
    std::set<std::string> late;
    for (const auto& s : fires.owed)
      if (!before.count(s)) late.insert(s);
    for (const auto& s : notify_sessions) late.erase(s.get<std::string>());
    if (!late.empty()) notify_sessions = co_await add_to_epoch(late);
  }
  if (!triggers.empty()) {
    // Another instance with this update may have named sessions in the epoch (and in records
    // it wrote) since the scan: they get this message too.
    auto entry = co_await ex.call("kv.get", "distributor.epoch_read", 0,
                                  [&] { return d_.system.get(kEpochTable, epoch_key(zxid)); });
    if (entry) {
      std::set<std::string> all;
      for (const auto& s : notify_sessions) all.insert(s.get<std::string>());
      for (const auto& s : entry->value("sessions", json::array()))
        all.insert(s.get<std::string>());
      notify_sessions = json(all);
    }
  }
  if (!notify_sessions.empty() || !fires.events.empty()) {
    json msg{{"zxid", zxid},
             {"owed", notify_sessions},
             {"events", fires.events_json()},
             {"fired", fires.fired_json()}};
    // One deduplication id per instance: another instance with the same update (a duplicate
    // delivery, a redelivery) may have found other registrations, and its message must not be
    // taken for a retry of this one's. Clients drop the events they already had.
    const std::string dedup = "w:" + std::to_string(zxid) + ":" + std::to_string(ex.current());
    // The group and the deduplication id are never empty: the queue does not refuse the send.
    (void)co_await ex.call("queue.send", "distributor.watch_dispatch", 0, [&] {
      return d_.watch_queue.send("watches", dedup, std::move(msg), SendMeta{ex.call_began(), 0});
    });
  }

  // 6. Pop and record progress atomically, then answer. Only the first instance to finish
  //    this update pops it: another instance that had the same batch finds the progress
  //    record moved on (and must not pop a later update's uid).
  const json answer{
      {"type", "result"},
      {"req", upd.at("req")},
      {"zxid", zxid},
      {"result", result},
      {"epoch", FKEMU_MUTANT(d_.config, "epoch.not_attached") ? json::array() : epoch}};
  std::vector<KvWrite> pop(2);
  pop[0].table = anchor_table;
  pop[0].key = anchor_key;
  pop[0].updates = {Update::remove_head("pending")};
  pop[1].table = kProgressTable;
  pop[1].key = "distributor";
  pop[1].conditions.push_back(Condition::absent_or_lt("last_zxid", zxid));
  pop[1].updates = {Update::set("last_zxid", zxid), Update::set("last_answer", answer)};
  // ConditionFailed: another instance with this update popped it first; the answer is the same.
  (void)co_await ex.call("kv.transact", "distributor.exec_pop_updates", 0,
                         [&] { return d_.system.transact(pop); });
  co_await send(answer);
}

Task<void> Distributor::remove_registrations(const std::string& session) {
  Executor& ex = d_.ex;
  auto sess = co_await ex.call("kv.get", "distributor.close_read_session", 0,
                               [&] { return d_.system.get(kSessionsTable, session); });
  if (!sess) co_return;
  std::set<std::string> keys;
  for (const auto& k : sess->value("watch_keys", json::array())) keys.insert(k.get<std::string>());
  for (const auto& key : keys)
    co_await remove_registrations_where(d_, key, [&session](const json& reg) {
      return reg.value("session", std::string()) == session;
    });
}

}  // namespace fkemu
