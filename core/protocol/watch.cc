#include "core/protocol/watch.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/model/path.h"
#include "core/protocol/mutants.h"

namespace fkemu {

std::string watch_key(const std::string& path, WatchType type) {
  return path + "\n" + watch_type_name(type);
}

WatchType watch_key_type(const std::string& key) {
  return watch_type_from_name(std::string_view(key).substr(key.rfind('\n') + 1))
      .value_or(WatchType::Data);
}

std::vector<Trigger> triggers_for(const UpdateMessage& update, int64_t zxid) {
  // The czxid of each node an update leaves in place (a parent's comes with its change), and
  // the ACL of each parent as the update leaves it.
  std::map<std::string, int64_t> czxid;
  std::map<std::string, const Acl*> acl;
  for (const Change& ch : update.changes) {
    if (ch.kind == ChangeKind::Create) {
      czxid[ch.path] = zxid;
    } else if (ch.kind == ChangeKind::Set || ch.kind == ChangeKind::Parent) {
      czxid[ch.path] = materialize_stat(ch.node.stat, zxid).czxid;  // (a multi's may be marked)
    }
    if (ch.kind != ChangeKind::Delete) acl[ch.path] = &ch.node.acl;
  }
  // `node_acl`: the ACL of the node the event is about (a deleted node's as it was: the
  // delete's change carries it), which a watcher must be allowed to READ (decision 51).
  auto trigger = [&](const std::string& path, std::vector<WatchType> types, EventType event,
                     const Acl* node_acl, bool with_czxid = true) {
    Trigger t{path, std::move(types), event, std::nullopt, {}};
    if (auto it = czxid.find(path); with_czxid && it != czxid.end()) t.czxid = it->second;
    if (node_acl) t.acl = *node_acl;
    return t;
  };
  auto parent_acl = [&](const std::string& child) -> const Acl* {
    auto it = acl.find(parent_path(child));
    return it == acl.end() ? nullptr : it->second;
  };
  std::vector<Trigger> out;
  for (const Change& ch : update.changes) {
    if (ch.kind == ChangeKind::Create) {
      out.push_back(trigger(ch.path, {WatchType::Data}, EventType::NodeCreated, &ch.node.acl));
      out.push_back(trigger(parent_path(ch.path), {WatchType::Child},
                            EventType::NodeChildrenChanged, parent_acl(ch.path)));
    } else if (ch.kind == ChangeKind::Delete) {
      out.push_back(trigger(ch.path, {WatchType::Data, WatchType::Child}, EventType::NodeDeleted,
                            &ch.node.acl, false));
      out.push_back(trigger(parent_path(ch.path), {WatchType::Child},
                            EventType::NodeChildrenChanged, parent_acl(ch.path)));
    } else if (ch.kind == ChangeKind::Set) {
      out.push_back(trigger(ch.path, {WatchType::Data}, EventType::NodeDataChanged, &ch.node.acl));
    }
  }
  return out;
}

EventType event_for(WatchType reg_type, bool existed, int64_t reg_zxid, const Trigger& trigger) {
  if (reg_type == WatchType::Data && !existed) return EventType::NodeCreated;
  if (trigger.event == EventType::NodeCreated || trigger.czxid.value_or(0) > reg_zxid)
    return EventType::NodeDeleted;
  return trigger.event;
}

void WatchQuery::add(const std::string& key, const WatchRegistration& reg, const Trigger& trig,
                     bool before, size_t index) {
  if (!last_ || *last_key_ != key) {
    auto it = added_.try_emplace(key).first;
    last_key_ = &it->first;
    last_ = &it->second;
  }
  if (!last_->insert(reg.id).second) return;
  found.fired[key].push_back(reg.id);
  if (before) found.owed.insert(reg.session);
  found.events[reg.session].push_back(
      FiredEvent{reg.id, event_for(watch_key_type(key), reg.existed, reg.zxid, trig), trig.path,
                 static_cast<int64_t>(index), trig.acl});
}

void WatchQuery::add_persistent(const std::string& key, const WatchRegistration& reg,
                                const Trigger& trig, size_t index) {
  if (!persistent_added_.emplace(key, reg.id, index).second) return;
  found.owed.insert(reg.session);
  found.events[reg.session].push_back(
      FiredEvent{reg.id, trig.event, trig.path, static_cast<int64_t>(index), trig.acl});
}

Task<void> WatchFunction::handle(ReceivedMessage message) {
  Executor& ex = d_.ex;
  WatchMessage body = WatchMessage::from_message(*message.body);

  // 1. Who gets a message, in the order of their names: every owed session and every session
  //    with events, with the events of its registrations (both lists are sorted: one merge).
  std::vector<std::pair<const std::string*, std::vector<FiredEvent>*>> per_session;
  per_session.reserve(std::max(body.owed.size(), body.events.size()));
  auto owed = body.owed.begin();
  for (auto& entry : body.events) {
    for (; owed != body.owed.end() && *owed < entry.first; ++owed)
      per_session.emplace_back(&*owed, nullptr);
    if (owed != body.owed.end() && *owed == entry.first) ++owed;
    per_session.emplace_back(&entry.first, &entry.second);
  }
  for (; owed != body.owed.end(); ++owed) per_session.emplace_back(&*owed, nullptr);

  // 2. Notify (before removing: a retry notifies again, clients drop duplicates).
  for (const auto& entry : per_session) {
    const std::string& session = *entry.first;  // (named: lambdas capture it)
    WatchNotification note;  // (member by member: GCC 12 and braced aggregates in coroutines)
    note.zxid = body.zxid;
    if (entry.second) note.events = std::move(*entry.second);
    const ClientMessage msg = std::move(note);
    co_await ex.call("channel.send", "watch.notify", 0, [&] { d_.channel.send(session, msg); });
  }

  // 3. Remove what fired, on the condition that nobody changed the list meanwhile.
  co_await remove_fired(body.fired);

  // 4. The notifications for this update are out: reads need not wait for them any more.
  KvWrite done;
  done.table = kEpochTable;
  done.key = epoch_key(body.zxid);
  done.kind = KvWrite::Kind::Delete;
  // Unconditional: an entry another instance removed already is no failure.
  (void)co_await ex.call("kv.write", "watch.epoch_remove", 0,
                         [&] { return d_.system.write(done); });
}

Task<void> WatchFunction::remove_fired(
    const std::map<std::string, std::vector<std::string>>& fired) {
  for (const auto& entry : fired) {
    if (entry.second.empty()) continue;
    // (named, and built before the call: lambdas capture it)
    const std::unordered_set<std::string_view> ids(entry.second.begin(), entry.second.end());
    co_await remove_registrations_where(d_, entry.first, [&ids](const Value& reg) {
      return ids.count(WatchRegistration::id_of(reg)) > 0;
    });
  }
}

Task<void> remove_registrations_where(Deployment& d, std::string key,
                                      std::function<bool(const Value& stored)> drop) {
  for (;;) {
    auto item = co_await d.ex.call("kv.get", "registrations.read", 0,
                                   [&] { return d.system.get(kWatchesTable, key); });
    if (!item) co_return;
    // The registrations kept are the stored values themselves (shared, not encoded again).
    static const ValueList kNone;
    const ValueList* regs = &kNone;
    if (item->at(attr::kRegs).is_list()) regs = &item->at(attr::kRegs).as_list();
    ValueList keep;
    keep.reserve(regs->size());
    for (const Value& reg : *regs)
      if (!drop(reg)) keep.push_back(reg);
    if (keep.size() == regs->size()) co_return;  // nothing to do
    KvWrite w;
    w.table = kWatchesTable;
    w.key = key;
    // On the condition that the list is still the one read. An emptied row is deleted (rows of
    // nodes that never existed would otherwise stay for ever), and a row made again afterwards
    // counts its version from 1 again: a condition on the version could match a stale read of
    // the earlier row (ABA) and drop the new row's registrations; one on the list cannot.
    w.conditions.push_back(Condition::eq(attr::kRegs, item->at(attr::kRegs)));
    if (keep.empty()) {
      w.kind = KvWrite::Kind::Delete;
    } else {
      w.updates = {Update::set(attr::kRegs, Value(std::move(keep))), Update::add(attr::kVer, 1)};
    }
    auto r =
        co_await d.ex.call("kv.write", "registrations.write", 0, [&] { return d.system.write(w); });
    if (r.ok()) co_return;
  }
}

}  // namespace fkemu
