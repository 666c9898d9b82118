#include "core/protocol/watch.h"

#include <map>
#include <set>

#include "core/model/path.h"
#include "core/protocol/mutants.h"

namespace fkemu {

using json = nlohmann::json;

std::string watch_key(const std::string& path, const std::string& type) {
  return path + "\n" + type;
}

json triggers_for(const json& update) {
  json out = json::array();
  for (const json& ch : update.at("changes")) {
    const std::string path = ch.at("path").get<std::string>();
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    if (kind == "create") {
      out.push_back({{"path", path}, {"types", {"data"}}, {"event", "NodeCreated"}});
      out.push_back(
          {{"path", parent_path(path)}, {"types", {"child"}}, {"event", "NodeChildrenChanged"}});
    } else if (kind == "delete") {
      out.push_back({{"path", path}, {"types", {"data", "child"}}, {"event", "NodeDeleted"}});
      out.push_back(
          {{"path", parent_path(path)}, {"types", {"child"}}, {"event", "NodeChildrenChanged"}});
    } else if (kind == "set") {
      out.push_back({{"path", path}, {"types", {"data"}}, {"event", "NodeDataChanged"}});
    }
  }
  return out;
}

Task<void> WatchFunction::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  const json& body = message.body;
  const int64_t zxid = body.at("zxid").get<int64_t>();

  // 1. What fires, per session, in trigger order.
  std::map<std::string, json> per_session;
  std::map<std::string, std::set<std::string>> fired_ids;  // watch key -> registration ids
  for (const auto& s : body.value("owed", json::array()))
    per_session[s.get<std::string>()] = json::array();
  for (const json& trig : body.at("triggers")) {
    for (const auto& type : trig.at("types")) {
      const std::string key =
          watch_key(trig.at("path").get<std::string>(), type.get<std::string>());
      if (fired_ids.count(key)) continue;  // one-shot: a second trigger of one key in one update
      auto item = co_await ex.call("kv.get", 0, [&] { return d_.system.get(kWatchesTable, key); });
      auto& ids = fired_ids[key];
      if (!item) continue;
      for (const json& reg : item->value("regs", json::array())) {
        if (reg.at("zxid").get<int64_t>() >= zxid &&
            !FKEMU_MUTANT(d_.config, "watch.ignore_registration_zxid"))
          continue;
        ids.insert(reg.at("id").get<std::string>());
        per_session[reg.at("session").get<std::string>()].push_back(
            {{"id", reg.at("id")}, {"event", trig.at("event")}, {"path", trig.at("path")}});
      }
    }
  }

  const bool remove_first = FKEMU_MUTANT(d_.config, "watch.remove_before_notify");
  if (remove_first) co_await remove_fired(fired_ids);

  // 2. Notify (before removing: a retry notifies again, clients drop duplicates).
  for (auto& [session, events] : per_session) {
    json msg{{"type", "watch"}, {"zxid", zxid}, {"events", events}};
    co_await ex.call("channel.send", 0, [&] { d_.channel.send(session, std::move(msg)); });
  }

  // 3. Remove what fired, on the condition that nobody changed the list meanwhile.
  if (!remove_first) co_await remove_fired(fired_ids);

  // 4. The notifications for this update are out: reads need not wait for them any more.
  KvWrite done;
  done.table = kEpochTable;
  done.key = epoch_key(zxid);
  done.kind = KvWrite::Kind::Delete;
  co_await ex.call("kv.write", 0, [&] { return d_.system.write(done); });
}

Task<void> WatchFunction::remove_fired(
    const std::map<std::string, std::set<std::string>>& fired_ids) {
  Executor& ex = d_.ex;
  for (const auto& [key, ids] : fired_ids) {
    if (ids.empty()) continue;
    for (;;) {
      auto item = co_await ex.call("kv.get", 0, [&] { return d_.system.get(kWatchesTable, key); });
      if (!item) break;
      json keep = json::array();
      for (const json& reg : item->value("regs", json::array()))
        if (!ids.count(reg.at("id").get<std::string>())) keep.push_back(reg);
      KvWrite w;
      w.table = kWatchesTable;
      w.key = key;
      w.conditions.push_back(Condition::eq("ver", item->value("ver", 0)));
      w.updates = {Update::set("regs", keep), Update::add("ver", 1)};
      auto r = co_await ex.call("kv.write", 0, [&] { return d_.system.write(w); });
      if (r.ok) break;
    }
  }
}

}  // namespace fkemu
