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

json triggers_for(const json& update, int64_t zxid) {
  // The czxid of each node an update leaves in place (a parent's comes with its change).
  std::map<std::string, int64_t> czxid;
  for (const json& ch : update.at("changes")) {
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    const std::string& path = ch.at("path").get_ref<const std::string&>();
    if (kind == "create") {
      czxid[path] = zxid;
    } else if (kind == "set" || kind == "parent") {
      czxid[path] = ch.at("node").at("stat").value("czxid", int64_t{0});
    }
  }
  auto with_czxid = [&](json trig) {
    auto it = czxid.find(trig.at("path").get<std::string>());
    if (it != czxid.end()) trig["czxid"] = it->second;
    return trig;
  };
  json out = json::array();
  for (const json& ch : update.at("changes")) {
    const std::string path = ch.at("path").get<std::string>();
    const std::string& kind = ch.at("kind").get_ref<const std::string&>();
    if (kind == "create") {
      out.push_back(with_czxid({{"path", path}, {"types", {"data"}}, {"event", "NodeCreated"}}));
      out.push_back(with_czxid(
          {{"path", parent_path(path)}, {"types", {"child"}}, {"event", "NodeChildrenChanged"}}));
    } else if (kind == "delete") {
      out.push_back({{"path", path}, {"types", {"data", "child"}}, {"event", "NodeDeleted"}});
      out.push_back(with_czxid(
          {{"path", parent_path(path)}, {"types", {"child"}}, {"event", "NodeChildrenChanged"}}));
    } else if (kind == "set") {
      out.push_back(
          with_czxid({{"path", path}, {"types", {"data"}}, {"event", "NodeDataChanged"}}));
    }
  }
  return out;
}

std::string event_for(const std::string& reg_type, bool existed, int64_t reg_zxid,
                      const json& trigger) {
  const std::string& event = trigger.at("event").get_ref<const std::string&>();
  if (reg_type == "data" && !existed) return "NodeCreated";
  if (event == "NodeCreated" || trigger.value("czxid", int64_t{0}) > reg_zxid) return "NodeDeleted";
  return event;
}

void WatchQuery::add(const std::string& key, const json& reg, const json& trig, bool before) {
  const std::string& id = reg.at("id").get_ref<const std::string&>();
  if (!fired[key].insert(id).second) return;
  const std::string& session = reg.at("session").get_ref<const std::string&>();
  if (before) owed.insert(session);
  json& list = events[session];
  if (list.is_null()) list = json::array();
  const std::string type = key.substr(key.rfind('\n') + 1);
  list.push_back(
      {{"id", id},
       {"event", event_for(type, reg.value("existed", true), reg.at("zxid").get<int64_t>(), trig)},
       {"path", trig.at("path")}});
}

json WatchQuery::events_json() const {
  json out = json::object();
  for (const auto& [session, list] : events) out[session] = list;
  return out;
}

json WatchQuery::fired_json() const {
  json out = json::object();
  for (const auto& [key, ids] : fired)
    if (!ids.empty()) out[key] = json(ids);
  return out;
}

Task<void> WatchFunction::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  const json& body = *message.body;
  const int64_t zxid = body.at("zxid").get<int64_t>();

  // 1. Who gets a message: every owed session, with the events of its registrations.
  std::map<std::string, json> per_session;
  for (const auto& s : body.value("owed", json::array()))
    per_session[s.get<std::string>()] = json::array();
  if (auto it = body.find("events"); it != body.end())
    for (const auto& [session, events] : it->items()) per_session[session] = events;

  // 2. Notify (before removing: a retry notifies again, clients drop duplicates).
  for (auto& entry : per_session) {
    const std::string& session = entry.first;  // (not a structured binding: lambdas capture it)
    json msg{{"type", "watch"}, {"zxid", zxid}, {"events", std::move(entry.second)}};
    co_await ex.call("channel.send", "watch.notify", 0,
                     [&] { d_.channel.send(session, std::move(msg)); });
  }

  // 3. Remove what fired, on the condition that nobody changed the list meanwhile.
  const json fired = body.value("fired", json::object());
  co_await remove_fired(fired);

  // 4. The notifications for this update are out: reads need not wait for them any more.
  KvWrite done;
  done.table = kEpochTable;
  done.key = epoch_key(zxid);
  done.kind = KvWrite::Kind::Delete;
  // Unconditional: an entry another instance removed already is no failure.
  (void)co_await ex.call("kv.write", "watch.epoch_remove", 0,
                         [&] { return d_.system.write(done); });
}

Task<void> WatchFunction::remove_fired(const json& fired) {
  for (const auto& [key, id_list] : fired.items()) {
    std::set<std::string> ids;
    for (const auto& id : id_list) ids.insert(id.get<std::string>());
    co_await remove_registrations_where(d_, key, [&ids](const json& reg) {
      return ids.count(reg.at("id").get<std::string>()) > 0;
    });
  }
}

Task<void> remove_registrations_where(Deployment& d, std::string key,
                                      std::function<bool(const json&)> drop) {
  for (;;) {
    auto item = co_await d.ex.call("kv.get", "registrations.read", 0,
                                   [&] { return d.system.get(kWatchesTable, key); });
    if (!item) co_return;
    json keep = json::array();
    for (const json& reg : item->value("regs", json::array()))
      if (!drop(reg)) keep.push_back(reg);
    if (keep.size() == item->value("regs", json::array()).size()) co_return;  // nothing to do
    KvWrite w;
    w.table = kWatchesTable;
    w.key = key;
    w.conditions.push_back(Condition::eq("ver", item->value("ver", 0)));
    w.updates = {Update::set("regs", keep), Update::add("ver", 1)};
    auto r =
        co_await d.ex.call("kv.write", "registrations.write", 0, [&] { return d.system.write(w); });
    if (r.ok()) co_return;
  }
}

}  // namespace fkemu
