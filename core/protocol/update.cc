#include "core/protocol/update.h"

#include "core/protocol/deployment.h"

namespace fkemu {

Condition held_by(const LockOwner& owner) {
  return Condition::eq(attr::kLockOwner, owner.to_string());
}

std::vector<Update> release_lock() {
  return {Update::remove(attr::kLock), Update::remove(attr::kLockOwner)};
}

std::vector<KvWrite> build_commit(const UpdateMessage& update, int64_t zxid) {
  const bool anchor_is_session = update.anchor.first == kSessionsTable;
  auto append_pending = [&] {
    return Update::append(attr::kPending, Value::strings({update.uid}));
  };

  std::vector<KvWrite> writes;
  for (const Change& ch : update.final_changes()) {
    KvWrite w;
    w.table = kNodesTable;
    w.key = ch.path;
    w.conditions.push_back(held_by(update.attempt));
    w.updates = ch.materialized(zxid).set_updates();
    for (Update& u : release_lock()) w.updates.push_back(std::move(u));
    if (!anchor_is_session && update.anchor.second == w.key) w.updates.push_back(append_pending());
    writes.push_back(std::move(w));
    // A TTL node is listed for the TTL function, with its czxid (decision 53); the function
    // removes the entry once the node it names is gone.
    if (ch.kind == ChangeKind::Create && ch.node.stat.ttl_ms > 0) {
      KvWrite listed;
      listed.table = kTtlTable;
      listed.key = ch.path;
      listed.updates = {Update::set(attr::kZxid, zxid)};
      writes.push_back(std::move(listed));
    }
  }

  if (update.session.empty()) return writes;  // a request of the service's own (decision 48)
  KvWrite s;
  s.table = kSessionsTable;
  s.key = update.session;
  // An expired or closed session commits nothing more; a client request is decided once.
  s.conditions.push_back(Condition::eq(attr::kAlive, true));
  if (update.req < 0) {
    // An expiry: only if the session has not answered since the heartbeat decided it.
    s.conditions.push_back(Condition::eq(
        attr::kLastSeen, update.expired_last_seen ? Value(*update.expired_last_seen) : Value()));
  } else {
    s.conditions.push_back(Condition::lt(attr::kLastReq, update.req));
    s.updates.push_back(Update::set(attr::kLastReq, update.req));
  }
  if (const std::vector<std::string> made = update.created_ephemerals(); !made.empty())
    s.updates.push_back(Update::append(attr::kEphemerals, Value::strings(made)));
  if (update.op == WriteOp::Close) s.updates.push_back(Update::set(attr::kAlive, false));
  if (anchor_is_session) {
    s.conditions.push_back(held_by(update.attempt));
    for (Update& u : release_lock()) s.updates.push_back(std::move(u));
    s.updates.push_back(append_pending());
  }
  writes.push_back(std::move(s));
  return writes;
}

}  // namespace fkemu
