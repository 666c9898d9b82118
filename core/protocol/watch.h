// Watches: registrations, which updates trigger them, and the watch function.
//
// A registration lives in the system store, table "watches", key "<path>\n<type>" where type
// is "data" (get_data and exists watches) or "child" (get_children watches):
//   {regs: [registration, ...], ver}
// where each registration is packed bytes (id, session, zxid, op, existed; records.cc).
// `zxid` is the version the client read when it registered (mzxid for data watches, pzxid for
// child watches, the deletion zxid of a tombstone or 0 for a node that never existed). An
// update with zxid Z fires exactly the registrations with zxid < Z: the ones set on data older
// than the update; registrations made on the new data are kept.
//
// ZooKeeper's event table (triggers_for):
//   create P  -> NodeCreated on P's data watches, NodeChildrenChanged on parent's child watches
//   delete P  -> NodeDeleted on P's data and child watches, NodeChildrenChanged on the parent's
//   set P     -> NodeDataChanged on P's data watches
//
// The distributor runs the watch query (WatchQuery): it reads the registrations an update
// fires, twice (before and after it writes the user store), and hands them to the watch
// function in the message. The watch function consumes the watch queue (one FIFO group, so
// notifications leave in zxid order): it sends every owed session one message with the events
// of its registrations (sessions whose registrations an earlier update already fired get an
// empty one, so that reads held for this zxid are released), then removes what fired and
// clears the update's epoch entry. It sends before it removes, and a retry after a crash sends
// again: clients drop registrations they already saw fire, so every registration fires
// exactly once. Because the events travel in the message, a close that removes the session's
// registrations after the update cannot take away an event the update owes it.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/protocol/records.h"
#include "core/runtime/task.h"

namespace fkemu {

std::string watch_key(const std::string& path, WatchType type);
// The type a watch key names.
WatchType watch_key_type(const std::string& key);

// The triggers of an update, in the order ZooKeeper fires them: types data, data+child or
// child at each path, with the czxid of the node at `path` after the update (none for a
// deletion).
std::vector<Trigger> triggers_for(const UpdateMessage& update, int64_t zxid);

// The event a registration fires when update `trigger` (one of triggers_for's) is the first
// change it learns of. The registration was set on the version the client read (`reg_zxid`;
// `existed`: whether the node existed then), and the first change after that version may be
// an earlier update whose watch look the registration missed: ZooKeeper fires the event of
// that first change. An exists watch on a missing node can only have been fired first by a
// create (NodeCreated); a watch on a node that has been created again since (its czxid is
// newer than the version read, or the trigger is a create) was fired first by its deletion
// (NodeDeleted); otherwise the trigger's own event.
EventType event_for(WatchType reg_type, bool existed, int64_t reg_zxid, const Trigger& trigger);

// Removes the registrations of watch key `key` for which `drop` is true (it is given the stored,
// packed registration: WatchRegistration::id_of reads its id alone), with a conditional write
// on the list's version (retried when somebody changed the list meanwhile).
Task<void> remove_registrations_where(Deployment& d, std::string key,
                                      std::function<bool(const Value& stored)> drop);

// What an update fires, gathered by the distributor's watch query: the watch message without
// its zxid and with only the sessions whose registrations fire as owed.
struct WatchQuery {
  WatchMessage found;
  // One registration `reg` of watch key `key` fired by trigger `trig` (the update's number
  // `index`); `before`: it was set on data older than the update. A registration already added
  // is ignored (the query runs twice).
  void add(const std::string& key, const WatchRegistration& reg, const Trigger& trig, bool before,
           size_t index);
  // One persistent or recursive registration (set before the update) fired by the update's
  // trigger number `index`: the trigger's own event, each trigger once (the query runs twice);
  // firing does not remove it.
  void add_persistent(const std::string& key, const WatchRegistration& reg, const Trigger& trig,
                      size_t index);

 private:
  // The ids of the registrations added, per watch key (an id names one registration of a
  // session, but a session name may be used again while an earlier session's registrations
  // remain), and the set of the key added to last (a query adds a key's registrations together).
  std::map<std::string, std::unordered_set<std::string>> added_;
  std::unordered_set<std::string>* last_ = nullptr;
  const std::string* last_key_ = nullptr;
  std::set<std::tuple<std::string, std::string, size_t>> persistent_added_;  // key, id, trigger
};

class WatchFunction {
 public:
  explicit WatchFunction(Deployment& d) : d_(d) {}
  // body: a WatchMessage (records.h)
  Task<void> handle(ReceivedMessage message);

 private:
  Task<void> remove_fired(const std::map<std::string, std::vector<std::string>>& fired);
  Deployment& d_;
};

}  // namespace fkemu
