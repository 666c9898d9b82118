#include "core/protocol/distributor.h"

#include "core/protocol/update.h"

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

  // 3. Apply to the user store.
  json result = upd.value("result", json::object());
  for (const json& ch : upd.at("changes")) {
    const std::string path = ch.at("path").get<std::string>();
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    const json node = materialize(ch, zxid);
    if (kind == "delete") {
      co_await ex.call("user.delete", 0, [&] { return d_.user.remove(path); });
    } else if (kind == "create" || kind == "set") {
      const json& data = ch.at("data");
      json record = user_record(node, data);
      co_await ex.call("user.put", data.get_binary().size(),
                       [&] { d_.user.put(path, std::move(record)); });
      result["stat"] = node.at("stat");
    } else if (kind == "parent") {
      auto old = co_await ex.call("user.get", 0, [&] { return d_.user.get(path); });
      json data = old ? old->value("data", json::binary({})) : json::binary({});
      json record = user_record(node, std::move(data));
      co_await ex.call("user.put", 0, [&] { d_.user.put(path, std::move(record)); });
    }
  }

  // 4. Pop and record progress atomically, then answer.
  const json answer{{"type", "result"}, {"req", upd.at("req")}, {"zxid", zxid}, {"result", result}};
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
