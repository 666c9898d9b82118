#include "core/protocol/writer_plan.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>

#include "core/model/close_order.h"
#include "core/model/path.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"

namespace fkemu {

namespace {

int64_t ms(Time t) { return t / kMillisecond; }

std::string format_suffix(int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(n));
  return buf;
}

Stat fresh_stat(Time now, const std::optional<std::string>& owner, size_t len) {
  Stat s;
  s.ctime = s.mtime = ms(now);
  s.ephemeral_owner = owner;
  s.data_length = static_cast<int32_t>(len);
  return s;
}

// ZooKeeper's checks of a TTL create, before anything else of the create (validateCreateRequest
// of its PrepRequestProcessor; decision 53). A negative time stands for a time given with a mode
// that is not a TTL mode (ZooKeeper's createTTL request with a persistent mode): BadArguments,
// as there, whether or not TTL nodes are on.
Code ttl_check(const CreateRequest& c, const DeploymentConfig& config) {
  if (!c.ttl_ms) return Code::Ok;
  // (An ephemeral or container node has no TTL mode: as a time with a plain mode.)
  if (*c.ttl_ms < 0 || c.ephemeral || c.container) return Code::BadArguments;
  if (!config.ttl_nodes) return Code::Unimplemented;
  if (*c.ttl_ms == 0 || *c.ttl_ms > kMaxTtlMs) return Code::BadArguments;
  return Code::Ok;
}

// The node as a locked item shows it (an item its lock alone made reads as a missing node).
NodeRecord node_at(const LockedItems& items, const std::string& path) {
  auto it = items.find({kNodesTable, path});
  return it == items.end() ? NodeRecord{} : NodeRecord::from_item(it->second);
}

Change change(const std::string& path, ChangeKind kind, NodeState node, Bytes data = {}) {
  return Change{path, kind, std::move(node), std::move(data)};
}

// A delete's change: no node, but the ACL it had, which decides who may learn of its
// deletion (decision 51).
Change deletion(const std::string& path, const NodeState& was) {
  NodeState gone;
  gone.acl = was.acl;
  return change(path, ChangeKind::Delete, std::move(gone));
}

// The parent's state after one child was created (delta +1) or deleted (-1).
NodeState parent_after(NodeState p, const std::string& child, int delta) {
  p.stat.cversion += 1;
  auto it = std::lower_bound(p.children.begin(), p.children.end(), child);
  if (delta > 0) {
    p.children.insert(it, child);
    p.creates += 1;
  } else if (it != p.children.end() && *it == child) {
    p.children.erase(it);
  }
  p.stat.num_children = static_cast<int32_t>(p.children.size());
  return p;
}

// Whether the request may do `wanted` on a node with `acl` (decision 50). A request of the
// service's own (a heartbeat's close, a container's cleanup) may do anything.
bool permitted(const WriteRequest& r, const Acl& acl, int32_t wanted) {
  return r.system() || r.session.empty() || acl_permits(acl, wanted, r.auth);
}

// A create's ACL as stored, after ZooKeeper's fixup against the session's identities; nullopt:
// InvalidACL. No ACL asked for: world:anyone, all.
std::optional<Acl> create_acl(const WriteRequest& r, const CreateRequest& c) {
  if (!c.acl) return Acl{};
  auto fixed = fixup_acl(*c.acl, r.auth);
  if (!fixed) return std::nullopt;
  return stored_acl(std::move(*fixed));
}

bool is_zookeeper_own_node(const std::string& path) {
  return path == "/" || path == "/zookeeper" || path == "/zookeeper/config" ||
         path == "/zookeeper/quota";
}

void plan_create(const WriteRequest& r, const CreateRequest& c, const std::string& actual,
                 const LockedItems& items, Time now, const DeploymentConfig& config,
                 WritePlan& plan) {
  // ZooKeeper's order: a TTL's checks, the ACL's fixup, the parent, the parent's CREATE
  // permission.
  if (const Code ttl = ttl_check(c, config); ttl != Code::Ok) {
    plan.error = ttl;
    return;
  }
  std::optional<Acl> acl = create_acl(r, c);
  if (!acl) {
    plan.error = Code::InvalidACL;
    return;
  }
  const std::string parent = parent_path(c.path);
  const NodeRecord parent_item = node_at(items, parent);
  if (!parent_item.node.exists) {
    plan.error = Code::NoNode;
    return;
  }
  if (!permitted(r, parent_item.node.acl, perm::kCreate)) {
    plan.error = Code::NoAuth;
    return;
  }
  plan.anchor.second = actual;
  // The server checks characters only now, after the parent lookup (ZooKeeper 3.8).
  if (!validate_path(actual).is_ok()) {
    plan.error = Code::BadArguments;
  } else if (node_at(items, actual).node.exists) {
    plan.error = Code::NodeExists;
  } else if (parent_item.node.stat.ephemeral_owner) {
    plan.error = Code::NoChildrenForEphemerals;
  } else {
    NodeState node;
    node.exists = true;
    node.container = c.container;
    node.acl = std::move(*acl);
    node.stat = fresh_stat(now, c.ephemeral ? std::optional<std::string>(r.session) : std::nullopt,
                           c.data.size());
    node.stat.ttl_ms = c.ttl_ms.value_or(0);
    plan.changes.push_back(change(actual, ChangeKind::Create, std::move(node), c.data));
    plan.changes.push_back(
        change(parent, ChangeKind::Parent, parent_after(parent_item.node, base_name(actual), +1)));
    plan.created_path = actual;
  }
}

void plan_delete(const WriteRequest& r, const DeleteRequest& d, const LockedItems& items,
                 [[maybe_unused]] const DeploymentConfig& config, WritePlan& plan) {
  const NodeRecord node_item = node_at(items, d.path);
  const NodeRecord parent_item = node_at(items, parent_path(d.path));
  const NodeState& n = node_item.node;
  const bool empty_container = FKEMU_MUTANT(config, "container.clean_unused")
                                   ? n.exists && n.container && n.children.empty()
                                   : n.empty_container();
  if (d.only_empty_container && !empty_container) {
    plan.error = Code::NotEmpty;  // a child came, or it went already: nothing to clean
  } else if (d.only_expired_ttl && !(n.exists && n.stat.ttl_ms > 0 && n.children.empty() &&
                                     n.stat.czxid == d.only_expired_ttl->czxid &&
                                     n.stat.mzxid == d.only_expired_ttl->mzxid)) {
    plan.error = Code::NotEmpty;  // a child came, its data changed, or it went: nothing to clean
  } else if (is_zookeeper_own_node(d.path)) {
    plan.error = Code::BadArguments;  // ZooKeeper refuses to delete its own nodes
  } else if (parent_item.node.exists && !permitted(r, parent_item.node.acl, perm::kDelete)) {
    plan.error = Code::NoAuth;  // the parent's DELETE permission, before the node is looked up
  } else if (!node_item.node.exists) {
    plan.error = Code::NoNode;
  } else if (d.version != -1 && node_item.node.stat.version != d.version) {
    plan.error = Code::BadVersion;
  } else if (!node_item.node.children.empty()) {
    plan.error = Code::NotEmpty;
  } else {
    plan.changes.push_back(deletion(d.path, node_item.node));
    plan.changes.push_back(change(parent_path(d.path), ChangeKind::Parent,
                                  parent_after(parent_item.node, base_name(d.path), -1)));
  }
}

void plan_set_data(const WriteRequest& r, const SetDataRequest& s, const LockedItems& items,
                   Time now, WritePlan& plan) {
  const NodeRecord node_item = node_at(items, s.path);
  if (!node_item.node.exists) {
    plan.error = Code::NoNode;
  } else if (!permitted(r, node_item.node.acl, perm::kWrite)) {
    plan.error = Code::NoAuth;
  } else if (s.version != -1 && node_item.node.stat.version != s.version) {
    plan.error = Code::BadVersion;
  } else {
    NodeState node = node_item.node;
    node.stat.version += 1;
    node.stat.mtime = ms(now);
    node.stat.data_length = static_cast<int32_t>(s.data.size());
    plan.changes.push_back(change(s.path, ChangeKind::Set, std::move(node), s.data));
  }
}

// ZooKeeper's setACL: the fixup, the node, its ADMIN permission, its aversion.
void plan_set_acl(const WriteRequest& r, const SetAclRequest& a, const LockedItems& items,
                  WritePlan& plan) {
  const NodeRecord node_item = node_at(items, a.path);
  std::optional<Acl> fixed = fixup_acl(a.acl, r.auth);
  if (!fixed) {
    plan.error = Code::InvalidACL;
  } else if (!node_item.node.exists) {
    plan.error = Code::NoNode;
  } else if (!permitted(r, node_item.node.acl, perm::kAdmin)) {
    plan.error = Code::NoAuth;
  } else if (a.version != -1 && node_item.node.stat.aversion != a.version) {
    plan.error = Code::BadVersion;
  } else {
    NodeState node = node_item.node;
    node.acl = stored_acl(std::move(*fixed));
    node.stat.aversion += 1;
    plan.changes.push_back(change(a.path, ChangeKind::AclChange, std::move(node)));
  }
}

void plan_close(const WriteRequest& r, const LockedItems& items,
                const std::vector<std::string>& ephemerals,
                [[maybe_unused]] const DeploymentConfig& config, WritePlan& plan) {
  plan.anchor = {kSessionsTable, r.session};
  // The session's ephemerals that still exist, in creation order, then in the order
  // ZooKeeper deletes them (the iteration order of its per-session Java HashSet).
  std::vector<std::string> live;
  for (const auto& p : ephemerals) {
    const NodeRecord item = node_at(items, p);
    if (item.node.exists && item.node.stat.ephemeral_owner == r.session) live.push_back(p);
  }
  if (FKEMU_MUTANT(config, "ephemeral.cleanup_skipped")) live.clear();
  // Each parent loses its deleted children in one pass (one at a time was a copy and an erase
  // of its children list per ephemeral: a close of n ephemerals under one parent cost n
  // squared).
  std::map<std::string, std::set<std::string>> gone;  // parent -> its children deleted
  for (const auto& p : zookeeper_close_order(live, ephemerals.size())) {
    plan.changes.push_back(deletion(p, node_at(items, p).node));
    gone[parent_path(p)].insert(base_name(p));
  }
  for (const auto& entry : gone) {
    const std::string& parent = entry.first;
    const std::set<std::string>& names = entry.second;  // (lambdas capture it: no binding)
    NodeState node = node_at(items, parent).node;
    node.stat.cversion += static_cast<int32_t>(names.size());
    std::erase_if(node.children, [&](const std::string& c) { return names.count(c) > 0; });
    node.stat.num_children = static_cast<int32_t>(node.children.size());
    plan.changes.push_back(change(parent, ChangeKind::Parent, std::move(node)));
  }
  // Locked ephemerals that are no longer ours (deleted, or recreated by another session)
  // still need their lock released by the commit.
  // (copies: the changes below grow the vector, which may move its strings)
  std::set<std::string> written;
  for (const auto& c : plan.changes) written.insert(c.path);
  for (const auto& [key, item] : items) {
    if (key.first != kNodesTable) continue;
    if (!written.count(key.second))
      plan.changes.push_back(
          change(key.second, ChangeKind::Keep, NodeRecord::from_item(item).node));
  }
}

}  // namespace

std::vector<std::string> session_ephemerals(const std::optional<SessionRecord>& session) {
  std::vector<std::string> out;
  if (!session) return out;
  std::set<std::string> seen;
  for (const auto& p : session->ephemerals)
    if (seen.insert(p).second) out.push_back(p);
  return out;
}

std::set<ItemKey> items_to_lock(const WriteRequest& r, const std::vector<std::string>& ephemerals) {
  std::set<ItemKey> keys;
  // An add_watch changes no node: it rides on the session's item, as a close does.
  if (r.kind() == WriteOp::AddWatch) return {{kSessionsTable, r.session}};
  if (r.kind() == WriteOp::Close) {
    keys.insert({kSessionsTable, r.session});
    for (const auto& p : ephemerals) {
      keys.insert({kNodesTable, p});
      keys.insert({kNodesTable, parent_path(p)});
    }
    return keys;
  }
  if (auto* m = std::get_if<MultiRequest>(&r.op)) {
    // Every node named and the parent of every create and delete; sequential names later.
    for (const MultiOp& op : m->ops) {
      const std::string& p = path_of(op);
      const auto* c = std::get_if<CreateRequest>(&op);
      if (!validate_path(p, c && c->sequential).is_ok()) continue;  // refused by the plan
      if (!(c && c->sequential)) keys.insert({kNodesTable, p});
      if ((c || std::holds_alternative<DeleteRequest>(op)) && p != "/")
        keys.insert({kNodesTable, parent_path(p)});
    }
    return keys;
  }
  if (!r.sequential_create()) keys.insert({kNodesTable, r.path()});
  if (r.kind() != WriteOp::SetData && r.kind() != WriteOp::SetAcl)
    keys.insert({kNodesTable, parent_path(r.path())});
  return keys;
}

std::optional<std::string> sequential_name(const WriteRequest& r, const NodeRecord& parent,
                                           [[maybe_unused]] const DeploymentConfig& config) {
  if (!parent.node.exists) return std::nullopt;
  return r.path() + format_suffix(FKEMU_MUTANT(config, "sequential.from_cversion")
                                      ? parent.node.stat.cversion
                                      : parent.node.creates);
}

KvWrite lock_write(const ItemKey& key, Time now, const LockOwner& attempt,
                   const DeploymentConfig& config) {
  KvWrite w;
  w.table = key.first;
  w.key = key.second;
  w.conditions.push_back(FKEMU_MUTANT(config, "timelock.never_expires")
                             ? Condition::not_exists(attr::kLock)
                             : Condition::absent_or_lt(attr::kLock, now - config.lock_lifetime));
  w.updates = {Update::set(attr::kLock, now), Update::set(attr::kLockOwner, attempt.to_string())};
  return w;
}

std::vector<KvWrite> unlock_writes(const LockedItems& items, const LockOwner& attempt) {
  std::vector<KvWrite> ws;
  for (const auto& entry : items) {
    KvWrite w;
    w.table = entry.first.first;
    w.key = entry.first.second;
    w.conditions.push_back(held_by(attempt));
    w.updates = release_lock();
    ws.push_back(std::move(w));
  }
  return ws;
}

namespace {

// A multi's operations applied one after the other to the nodes as the ones before leave them
// (ZooKeeper checks each against that state). Each change's node carries kThisZxid where the
// update's zxid goes. `names`: the sequential creates' names, filled as they are met when
// `naming` (the writer has not locked them yet; a name not locked reads as a missing node).
void plan_multi(const WriteRequest& r, const MultiRequest& m, const LockedItems& items, Time now,
                [[maybe_unused]] const DeploymentConfig& config, WritePlan& plan,
                std::vector<std::string>* names) {
  std::map<std::string, NodeState> state;
  auto node = [&](const std::string& p) -> NodeState& {
    auto [it, fresh] = state.try_emplace(p);
    if (fresh) it->second = node_at(items, p).node;
    return it->second;
  };
  // The parents whose children change, in the order they first do: each gets one change, as
  // the multi leaves it, after the operations' own (its events come from its children's
  // creates and deletes, so one change is enough, and a multi of n creates under one parent
  // carries its children list once, not n times).
  std::vector<std::string> parents;
  std::set<std::string> parent_set;
  auto parent_changed = [&](const std::string& p) {
    if (parent_set.insert(p).second) parents.push_back(p);
  };
  auto fail = [&](size_t i, Code c) {
    plan.error = c;
    plan.failed_op = static_cast<int>(i);
    plan.changes.clear();
    plan.results.clear();
  };
  for (size_t i = 0; i < m.ops.size(); ++i) {
    const MultiOp& op = m.ops[i];
    OpOutcome out;
    out.kind = kind_of(op);
    if (auto* c = std::get_if<CreateRequest>(&op)) {
      if (!validate_client_path(c->path, c->sequential).is_ok()) return fail(i, Code::BadArguments);
      if (const Code ttl = ttl_check(*c, config); ttl != Code::Ok) return fail(i, ttl);
      std::optional<Acl> acl = create_acl(r, *c);
      if (!acl) return fail(i, Code::InvalidACL);
      const std::string parent = parent_path(c->path);
      NodeState& p = node(parent);
      const bool start_only = FKEMU_MUTANT(config, "multi.checks_against_start");
      if (!p.exists || (start_only && !node_at(items, parent).node.exists))
        return fail(i, Code::NoNode);
      if (!permitted(r, p.acl, perm::kCreate)) return fail(i, Code::NoAuth);
      std::string actual = c->path;
      if (c->sequential) {
        actual += format_suffix(FKEMU_MUTANT(config, "sequential.from_cversion") ? p.stat.cversion
                                                                                 : p.creates);
        if (names) names->push_back(actual);
      }
      if (!validate_path(actual).is_ok()) return fail(i, Code::BadArguments);
      if (node(actual).exists || (start_only && node_at(items, actual).node.exists))
        return fail(i, Code::NodeExists);
      if (p.stat.ephemeral_owner) return fail(i, Code::NoChildrenForEphemerals);
      NodeState n;
      n.exists = true;
      n.container = c->container;
      n.acl = std::move(*acl);
      n.stat = fresh_stat(now, c->ephemeral ? std::optional<std::string>(r.session) : std::nullopt,
                          c->data.size());
      n.stat.ttl_ms = c->ttl_ms.value_or(0);
      n.stat.czxid = n.stat.mzxid = n.stat.pzxid = kThisZxid;
      node(actual) = n;
      p = parent_after(std::move(p), base_name(actual), +1);
      p.stat.pzxid = kThisZxid;
      plan.changes.push_back(change(actual, ChangeKind::Create, n, c->data));
      parent_changed(parent);
      out.path = actual;
      out.stat = n.stat;
    } else if (auto* d = std::get_if<DeleteRequest>(&op)) {
      if (!validate_client_path(d->path, false).is_ok()) return fail(i, Code::BadArguments);
      const NodeState& n = node(d->path);
      if (is_zookeeper_own_node(d->path)) return fail(i, Code::BadArguments);
      if (const NodeState& p = node(parent_path(d->path));
          p.exists && !permitted(r, p.acl, perm::kDelete))
        return fail(i, Code::NoAuth);
      if (!n.exists || (FKEMU_MUTANT(config, "multi.checks_against_start") &&
                        !node_at(items, d->path).node.exists))
        return fail(i, Code::NoNode);
      if (d->version != -1 && n.stat.version != d->version) return fail(i, Code::BadVersion);
      if (!n.children.empty()) return fail(i, Code::NotEmpty);
      const std::string parent = parent_path(d->path);
      plan.changes.push_back(deletion(d->path, n));
      node(d->path) = NodeState{};
      NodeState& p = node(parent);
      p = parent_after(std::move(p), base_name(d->path), -1);
      p.stat.pzxid = kThisZxid;
      parent_changed(parent);
    } else if (auto* s = std::get_if<SetDataRequest>(&op)) {
      if (!validate_client_path(s->path, false).is_ok()) return fail(i, Code::BadArguments);
      NodeState& n = node(s->path);
      if (!n.exists) return fail(i, Code::NoNode);
      if (!permitted(r, n.acl, perm::kWrite)) return fail(i, Code::NoAuth);
      if (s->version != -1 && n.stat.version != s->version) return fail(i, Code::BadVersion);
      n.stat.version += 1;
      n.stat.mtime = ms(now);
      n.stat.mzxid = kThisZxid;
      n.stat.data_length = static_cast<int32_t>(s->data.size());
      plan.changes.push_back(change(s->path, ChangeKind::Set, n, s->data));
      out.stat = n.stat;
    } else if (auto* k = std::get_if<CheckRequest>(&op)) {
      if (!validate_client_path(k->path, false).is_ok()) return fail(i, Code::BadArguments);
      const NodeState& n = node(k->path);
      if (!n.exists) return fail(i, Code::NoNode);
      if (!permitted(r, n.acl, perm::kRead)) return fail(i, Code::NoAuth);
      if (k->version != -1 && n.stat.version != k->version) return fail(i, Code::BadVersion);
    }
    plan.results.push_back(std::move(out));
  }
  for (const std::string& p : parents)
    plan.changes.push_back(change(p, ChangeKind::Parent, node(p)));
  // Every locked node is written by the commit (which releases its lock): those the operations
  // did not change are kept as they are. The first change carries the update (the anchor).
  std::set<std::string> written;
  for (const Change& c : plan.changes) written.insert(c.path);
  for (const auto& [key, item] : items) {
    if (key.first != kNodesTable || written.count(key.second)) continue;
    const auto it = state.find(key.second);
    plan.changes.push_back(
        change(key.second, ChangeKind::Keep,
               it != state.end() ? it->second : NodeRecord::from_item(item).node));
  }
  if (!plan.changes.empty()) plan.anchor = {kNodesTable, plan.changes.front().path};
}

}  // namespace

std::vector<std::string> sequential_names(const WriteRequest& r, const LockedItems& items, Time now,
                                          const DeploymentConfig& config) {
  std::vector<std::string> names;
  if (auto* m = std::get_if<MultiRequest>(&r.op)) {
    WritePlan dry;
    plan_multi(r, *m, items, now, config, dry, &names);
  }
  return names;
}

WritePlan plan_write(const WriteRequest& r, const std::string& node_path, const LockedItems& items,
                     const std::vector<std::string>& ephemerals, Time now,
                     const DeploymentConfig& config) {
  WritePlan plan;
  plan.anchor = {kNodesTable, r.path()};
  if (auto* c = std::get_if<CreateRequest>(&r.op)) {
    plan_create(r, *c, node_path, items, now, config, plan);
  } else if (auto* d = std::get_if<DeleteRequest>(&r.op)) {
    plan_delete(r, *d, items, config, plan);
  } else if (auto* s = std::get_if<SetDataRequest>(&r.op)) {
    plan_set_data(r, *s, items, now, plan);
  } else if (auto* a = std::get_if<SetAclRequest>(&r.op)) {
    plan_set_acl(r, *a, items, plan);
  } else if (r.kind() == WriteOp::AddWatch) {
    // No node to check (ZooKeeper's addWatch needs neither the node nor a permission): the
    // update carries the registration, which the distributor makes when it applies it.
    plan.anchor = {kSessionsTable, r.session};
  } else if (auto* m = std::get_if<MultiRequest>(&r.op)) {
    plan_multi(r, *m, items, now, config, plan, nullptr);
  } else {
    plan_close(r, items, ephemerals, config, plan);
  }
  return plan;
}

std::vector<KvWrite> failure_writes(const WriteRequest& r, const WritePlan& plan,
                                    const LockedItems& items, const LockOwner& attempt) {
  const Code error = plan.error;
  std::vector<KvWrite> ws = unlock_writes(items, attempt);
  KvWrite s;
  s.table = kSessionsTable;
  s.key = r.session;
  s.conditions.push_back(Condition::lt(attr::kLastReq, r.req_no));
  s.updates = {
      Update::set(attr::kLastReq, r.req_no),
      Update::set(attr::kLastError, LastError{r.req_no, error, plan.failed_op}.to_value())};
  ws.push_back(std::move(s));
  return ws;
}

}  // namespace fkemu
