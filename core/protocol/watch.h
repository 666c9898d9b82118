// Watches: registrations, which updates trigger them, and the watch function.
//
// A registration lives in the system store, table "watches", key "<path>\n<type>" where type
// is "data" (get_data and exists watches) or "child" (get_children watches):
//   {regs: [{id, session, zxid, op}], ver}
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
// The watch function consumes the watch queue (one FIFO group, so notifications leave in zxid
// order). For an update it reads the registrations it fires, sends every owed session one
// message (also sessions whose registrations an earlier update already fired, so that reads
// held for this zxid are released), then removes what it fired and clears the update's epoch
// entry. It sends before it removes: a retry after a crash sends again and clients drop
// registrations they already saw fire, so every registration fires exactly once.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/runtime/task.h"

namespace fkemu {

std::string watch_key(const std::string& path, const std::string& type);

// The triggers of an update, in the order ZooKeeper fires them:
// [{path, types: ["data"] | ["data","child"] | ["child"], event}].
nlohmann::json triggers_for(const nlohmann::json& update);

class WatchFunction {
 public:
  explicit WatchFunction(Deployment& d) : d_(d) {}
  // body: {zxid, triggers, owed: [sessions]}
  Task<void> handle(ReceivedMessage message);

 private:
  Task<void> remove_fired(const std::map<std::string, std::set<std::string>>& fired_ids);
  Deployment& d_;
};

}  // namespace fkemu
