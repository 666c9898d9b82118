#include "core/protocol/distributor.h"

#include <set>

#include "core/protocol/update.h"
#include "core/protocol/watch.h"

namespace fkemu {

Task<void> Distributor::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  const json& upd = message.body;
  const int64_t zxid = static_cast<int64_t>(message.sequence.lo);
  const std::string session = upd.at("session").get<std::string>();
  const std::string uid = upd.at("uid").get<std::string>();
  const std::string anchor_table = upd.at("anchor").at("table").get<std::string>();
  const std::string anchor_key = upd.at("anchor").at("key").get<std::string>();

  auto send = [&](const json& answer) -> Task<void> {
    co_await ex.call("channel.send", 0, [&] { d_.channel.send(session, answer); });
  };

  // 1. Already decided?
  auto progress =
      co_await ex.call("kv.get", 0, [&] { return d_.system.get(kProgressTable, "distributor"); });
  const int64_t last = progress ? progress->value("last_zxid", int64_t{0}) : 0;
  if (zxid < last) co_return;
  if (zxid == last) {
    const json answer = progress->value("last_answer", json());
    if (answer.is_object()) co_await send(answer);
    co_return;
  }

  // 2. Classify.
  auto anchor =
      co_await ex.call("kv.get", 0, [&] { return d_.system.get(anchor_table, anchor_key); });
  bool committed = anchor && list_contains(*anchor, "pending", uid);
  if (!committed && anchor && anchor->value("lock_owner", std::string()) == upd.at("attempt")) {
    const std::vector<KvWrite> commit = build_commit(upd, zxid);
    auto r = co_await ex.call("kv.transact", 0, [&] { return d_.system.transact(commit); });
    committed = r.ok;
    if (!committed) {
      // The writer may have committed itself in the meantime.
      anchor =
          co_await ex.call("kv.get", 0, [&] { return d_.system.get(anchor_table, anchor_key); });
      committed = anchor && list_contains(*anchor, "pending", uid);
    }
  }
  if (!committed) {
    KvWrite w;
    w.table = kProgressTable;
    w.key = "distributor";
    w.updates = {Update::set("last_zxid", zxid), Update::set("last_answer", nullptr)};
    co_await ex.call("kv.write", 0, [&] { return d_.system.write(w); });
    co_return;
  }

  // 3. Who is owed a notification for this update: they go into the epoch before any record
  //    that reflects the update becomes visible.
  const json triggers = triggers_for(upd);
  auto owed_sessions = [&]() -> Task<std::set<std::string>> {
    std::set<std::string> owed;
    for (const json& trig : triggers)
      for (const auto& type : trig.at("types")) {
        const std::string key =
            watch_key(trig.at("path").get<std::string>(), type.get<std::string>());
        auto item =
            co_await ex.call("kv.get", 0, [&] { return d_.system.get(kWatchesTable, key); });
        if (!item) continue;
        for (const json& reg : item->value("regs", json::array()))
          if (reg.at("zxid").get<int64_t>() < zxid)
            owed.insert(reg.at("session").get<std::string>());
      }
    co_return owed;
  };
  auto add_to_epoch = [&](const std::set<std::string>& owed) -> Task<json> {
    KvWrite w;
    w.table = kEpochTable;
    w.key = epoch_key(zxid);
    w.updates = {Update::set("zxid", zxid), Update::append("sessions", json(owed))};
    auto r = co_await ex.call("kv.write", 0, [&] { return d_.system.write(w); });
    co_return r.new_item ? r.new_item->value("sessions", json::array()) : json::array();
  };
  std::set<std::string> owed = co_await owed_sessions();
  json notify_sessions = json::array();
  if (!owed.empty()) {
    notify_sessions = co_await add_to_epoch(owed);
  } else if (message.receive_count > 1) {
    // An earlier attempt may have named sessions (in records it wrote) whose registrations an
    // earlier update has fired since: they must still get this update's message.
    auto earlier =
        co_await ex.call("kv.get", 0, [&] { return d_.system.get(kEpochTable, epoch_key(zxid)); });
    if (earlier) notify_sessions = earlier->value("sessions", json::array());
  }
  auto in_flight = co_await ex.call("kv.scan", 0, [&] { return d_.system.scan(kEpochTable); });
  json epoch = json::array();
  for (const auto& [key, item] : in_flight)
    epoch.push_back({{"z", item.at("zxid")}, {"s", item.value("sessions", json::array())}});

  // 4. Apply to the user store; a deleted node leaves a tombstone, so that reads of it are held
  //    by the epoch too and a later exists watch knows the deletion's zxid.
  json result = upd.value("result", json::object());
  for (const json& ch : upd.at("changes")) {
    const std::string path = ch.at("path").get<std::string>();
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    const json node = materialize(ch, zxid);
    json record;
    size_t bytes = 0;
    if (kind == "delete") {
      record = json{{"tombstone", zxid}};
    } else if (kind == "create" || kind == "set") {
      const json& data = ch.at("data");
      bytes = data.get_binary().size();
      record = user_record(node, data);
      result["stat"] = node.at("stat");
    } else if (kind == "parent") {
      auto old = co_await ex.call("user.get", 0, [&] { return d_.user.get(path); });
      json data = old ? old->value("data", json::binary({})) : json::binary({});
      record = user_record(node, std::move(data));
    } else {
      continue;
    }
    record["epoch"] = epoch;
    co_await ex.call("user.put", bytes, [&] { d_.user.put(path, std::move(record)); });
  }

  // 5. A registration made after the first look saw old data but may have read again before
  //    the records above were written: look again so that its watch is not lost.
  if (owed.empty() && !triggers.empty()) {
    std::set<std::string> late = co_await owed_sessions();
    if (!late.empty()) notify_sessions = co_await add_to_epoch(late);
  }
  if (!notify_sessions.empty()) {
    json msg{{"zxid", zxid}, {"triggers", triggers}, {"owed", notify_sessions}};
    const std::string dedup =
        "w:" + std::to_string(zxid) + ":" + std::to_string(message.receive_count);
    co_await ex.call("queue.send", 0,
                     [&] { return d_.watch_queue.send("watches", dedup, std::move(msg)); });
  }

  // 4. Pop and record progress atomically, then answer.
  const json answer{{"type", "result"},
                    {"req", upd.at("req")},
                    {"zxid", zxid},
                    {"result", result},
                    {"epoch", epoch}};
  std::vector<KvWrite> pop(2);
  pop[0].table = anchor_table;
  pop[0].key = anchor_key;
  pop[0].updates = {Update::remove_head("pending")};
  pop[1].table = kProgressTable;
  pop[1].key = "distributor";
  pop[1].updates = {Update::set("last_zxid", zxid), Update::set("last_answer", answer)};
  co_await ex.call("kv.transact", 0, [&] { return d_.system.transact(pop); });
  co_await send(answer);
}

}  // namespace fkemu
