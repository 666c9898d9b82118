// ZooKeeperModel's writes, reads and watch table (harness/zookeeper_model.h says what it
// models and the rules it follows).
#include "harness/zookeeper_model.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <string_view>

#include "core/model/close_order.h"
#include "core/model/path.h"

namespace fkemu {

ZooKeeperModel::ZooKeeperModel() {
  ModelNode root;
  root.stat.cversion = -1;
  root.stat.num_children = 1;
  root.children = {"zookeeper"};
  ModelNode zk;
  zk.stat.cversion = -2;
  zk.stat.num_children = 2;
  zk.children = {"config", "quota"};
  ModelNode config;
  config.stat.aversion = -1;
  config.acl = {AclEntry{perm::kRead, "world", "anyone"}};  // world-readable only
  nodes_["/"] = std::move(root);
  nodes_["/zookeeper"] = std::move(zk);
  nodes_["/zookeeper/config"] = std::move(config);
  nodes_["/zookeeper/quota"] = ModelNode{};
}

std::string ZooKeeperModel::sequential_name(const std::string& prefix, int64_t count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%010lld", static_cast<long long>(count));
  return prefix + suffix;
}

namespace {

bool is_zookeeper_own_node(const std::string& path) {
  return path == "/" || path == "/zookeeper" || path == "/zookeeper/config" ||
         path == "/zookeeper/quota";
}

// A multi's checks: the client's path rules for every operation first (ZooKeeper's clients
// refuse the whole multi before sending it), then each operation against the tree as the
// earlier ones leave it, seen through an overlay of the nodes they changed.
std::string check_multi(const ModelWrite& w, const NodeLookup& lookup, int* failed_op) {
  auto fail = [&](size_t i, std::string e) {
    if (failed_op) *failed_op = static_cast<int>(i);
    return e;
  };
  for (size_t i = 0; i < w.ops.size(); ++i) {
    const ModelWrite& op = w.ops[i];
    const bool known =
        op.op == "create" || op.op == "delete" || op.op == "set_data" || op.op == "check";
    if (!known || !validate_client_path(op.path, op.op == "create" && op.sequential).is_ok() ||
        (op.op == "delete" && op.path == "/"))
      return fail(i, "BadArguments");
  }
  std::map<std::string, NodeView> overlay;
  const NodeLookup look = [&](const std::string& p) {
    auto it = overlay.find(p);
    return it != overlay.end() ? it->second : lookup(p);
  };
  auto at = [&](const std::string& p) -> NodeView& {
    auto it = overlay.find(p);
    if (it == overlay.end()) it = overlay.emplace(p, lookup(p)).first;
    return it->second;
  };
  for (size_t i = 0; i < w.ops.size(); ++i) {
    ModelWrite op = w.ops[i];
    op.auth = w.auth;  // the multi's identities
    std::string name;
    if (std::string e = ZooKeeperModel::check(op, look, &name); !e.empty()) return fail(i, e);
    if (op.op == "create") {
      NodeView& p = at(parent_path(name));
      p.num_children += 1;
      p.child_creates += 1;
      NodeView& n = at(name);
      n = NodeView{};
      n.exists = true;
      if (op.ephemeral) n.ephemeral_owner = w.session;
      if (op.acl) n.acl = stored_acl(*fixup_acl(*op.acl, w.auth));
    } else if (op.op == "delete") {
      at(op.path) = NodeView{};
      at(parent_path(op.path)).num_children -= 1;
    } else if (op.op == "set_data") {
      at(op.path).version += 1;
    }
  }
  return {};
}

}  // namespace

std::string ZooKeeperModel::check(const ModelWrite& w, const NodeLookup& lookup,
                                  std::string* created_path, int* failed_op) {
  if (w.op == "multi") return check_multi(w, lookup, failed_op);
  if (w.op == "add_watch") {
    return validate_client_path(w.path).is_ok() ? std::string() : std::string("BadArguments");
  }
  if (w.op == "create") {
    if (!validate_client_path(w.path, w.sequential).is_ok()) return "BadArguments";
    // A TTL mode's checks come first on the server (validateCreateRequest): a time with a mode
    // that is not a TTL mode (an ephemeral or container node has none), then TTL nodes off,
    // then a time out of 1..2^40-1.
    if (w.ttl_ms) {
      if (*w.ttl_ms < 0 || w.ephemeral || w.container) return "BadArguments";
      if (!w.ttl_nodes) return "Unimplemented";
      if (*w.ttl_ms == 0 || *w.ttl_ms >= (int64_t{1} << 40)) return "BadArguments";
    }
    if (!w.sequential && w.path == "/") return "NodeExists";
    const std::string parent = parent_path(w.sequential ? w.path + "0" : w.path);
    // ZooKeeper's order: the ACL's fixup, the parent, its CREATE permission (decision 50).
    if (w.acl && !fixup_acl(*w.acl, w.auth)) return "InvalidACL";
    const NodeView p = lookup(parent);
    if (!p.exists) return "NoNode";
    if (!acl_permits(p.acl, perm::kCreate, w.auth)) return "NoAuth";
    const std::string name = w.sequential ? sequential_name(w.path, p.child_creates) : w.path;
    if (!validate_path(w.path, w.sequential).is_ok()) return "BadArguments";
    if (lookup(name).exists) return "NodeExists";
    if (p.ephemeral_owner) return "NoChildrenForEphemerals";
    if (created_path) *created_path = name;
    return {};
  }
  if (w.op == "delete") {
    if (!validate_client_path(w.path, false).is_ok()) return "BadArguments";
    if (is_zookeeper_own_node(w.path)) return "BadArguments";
    // The parent's DELETE permission, before the node is looked up.
    if (const NodeView p = lookup(parent_path(w.path));
        p.exists && !acl_permits(p.acl, perm::kDelete, w.auth))
      return "NoAuth";
    const NodeView n = lookup(w.path);
    if (!n.exists) return "NoNode";
    if (w.version != -1 && w.version != n.version) return "BadVersion";
    if (n.num_children > 0) return "NotEmpty";
    return {};
  }
  if (w.op == "set_data") {
    if (!validate_client_path(w.path, false).is_ok()) return "BadArguments";
    const NodeView n = lookup(w.path);
    if (!n.exists) return "NoNode";
    if (!acl_permits(n.acl, perm::kWrite, w.auth)) return "NoAuth";
    if (w.version != -1 && w.version != n.version) return "BadVersion";
    return {};
  }
  if (w.op == "set_acl") {  // the ACL's fixup, the node, ADMIN, the aversion
    if (!validate_client_path(w.path, false).is_ok()) return "BadArguments";
    if (!w.acl || !fixup_acl(*w.acl, w.auth)) return "InvalidACL";
    const NodeView n = lookup(w.path);
    if (!n.exists) return "NoNode";
    if (!acl_permits(n.acl, perm::kAdmin, w.auth)) return "NoAuth";
    if (w.version != -1 && w.version != n.aversion) return "BadVersion";
    return {};
  }
  if (w.op == "check") {  // a multi's check: the node and its version
    if (!validate_client_path(w.path, false).is_ok()) return "BadArguments";
    const NodeView n = lookup(w.path);
    if (!n.exists) return "NoNode";
    if (!acl_permits(n.acl, perm::kRead, w.auth)) return "NoAuth";
    if (w.version != -1 && w.version != n.version) return "BadVersion";
    return {};
  }
  if (w.op == "close") return {};
  return "BadArguments";
}

std::string ZooKeeperModel::check(const ModelWrite& w, std::string* created_path,
                                  int* failed_op) const {
  if (closed(w.session) && w.op != "close") return "SessionExpired";
  return check(
      w, [this](const std::string& p) { return view(p); }, created_path, failed_op);
}

NodeView ZooKeeperModel::view(const std::string& path) const {
  NodeView v;
  const ModelNode* n = node(path);
  if (!n) return v;
  v.exists = true;
  v.ephemeral_owner = n->stat.ephemeral_owner;
  v.version = n->stat.version;
  v.num_children = n->stat.num_children;
  v.child_creates = n->child_creates;
  v.aversion = n->stat.aversion;
  v.acl = n->acl;
  return v;
}

bool ZooKeeperModel::may_read(const std::string& session, const Acl& acl, bool surely) const {
  if (acl.empty()) return true;
  const auto& table = surely ? sure_identities_ : identities_;
  auto it = table.find(session);
  static const std::vector<Identity> kNone;
  return acl_permits(acl, perm::kRead, it == table.end() ? kNone : it->second);
}

void ZooKeeperModel::fire(const std::string& path, WatchKind kind, const char* event,
                          const Acl& acl, std::vector<ModelEvent>* out) {
  auto it = watches_.find({path, kind});
  if (it == watches_.end()) return;
  for (const Registration& r : it->second)
    if (may_read(r.session, acl))
      out->push_back(
          ModelEvent{r.session, r.id, event, path, false, may_read(r.session, acl, true), change_});
  watches_.erase(it);  // spent, delivered or not
}

void ZooKeeperModel::fire_persistent(const std::string& path, const char* event, const Acl& acl,
                                     std::vector<ModelEvent>* out) {
  if (persistent_.empty()) return;
  const bool children = std::string_view(event) == "NodeChildrenChanged";
  for (std::string p = path;;) {
    if (auto it = persistent_.find(p); it != persistent_.end())
      for (const Persistent& r : it->second)
        if ((r.recursive ? !children : p == path) && may_read(r.session, acl))
          out->push_back(ModelEvent{r.session, r.id, event, path, true,
                                    may_read(r.session, acl, true), change_});
    if (p == "/") break;
    p = parent_path(p);
  }
}

void ZooKeeperModel::remove_node(const std::string& path, int64_t zxid, ModelWriteResult* r) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  if (const auto& owner = it->second.stat.ephemeral_owner) {
    auto& live = ephemerals_[*owner];
    live.erase(std::remove(live.begin(), live.end(), path), live.end());
  }
  const Acl acl = std::move(it->second.acl);
  nodes_.erase(it);
  const std::string parent = parent_path(path);
  ModelNode& p = nodes_.at(parent);
  p.children.erase(base_name(path));
  p.stat.cversion += 1;
  p.stat.pzxid = zxid;
  p.stat.num_children -= 1;
  r->deleted.push_back(path);
  r->changed.push_back(path);
  r->changed.push_back(parent);
  ++change_;
  fire(path, WatchKind::Data, "NodeDeleted", acl, &r->events);
  fire(path, WatchKind::Child, "NodeDeleted", acl, &r->events);
  fire_persistent(path, "NodeDeleted", acl, &r->events);
  ++change_;
  fire(parent, WatchKind::Child, "NodeChildrenChanged", p.acl, &r->events);
  fire_persistent(parent, "NodeChildrenChanged", p.acl, &r->events);
}

ModelWriteResult ZooKeeperModel::apply(const ModelWrite& w, int64_t zxid, int64_t time_ms,
                                       const std::string* observed_name,
                                       const std::vector<std::string>* observed_names) {
  if (w.op == "close") return close_session(w.session, zxid);
  if (w.op == "multi") return apply_multi(w, zxid, time_ms, observed_names);
  ModelWriteResult r;
  std::string name;
  r.error = check(w, &name);
  if (!r.ok()) return r;
  if (w.op == "add_watch") {
    add_persistent(w.session, w.path, w.recursive, w.watch_id);
    return r;
  }
  if (w.op == "check") return r;
  if (w.op == "set_acl") {  // no zxid of the node moves, no watch fires
    ModelNode& n = nodes_.at(w.path);
    n.acl = stored_acl(*fixup_acl(*w.acl, w.auth));
    n.stat.aversion += 1;
    r.stat = n.stat;
    r.changed = {w.path};
    return r;
  }

  if (w.op == "create") {
    r.path = name;
    std::string where = name;
    const std::string parent = parent_path(name);
    if (observed_name && *observed_name != name && w.sequential &&
        observed_name->starts_with(w.path) && parent_path(*observed_name) == parent &&
        !node(*observed_name) && validate_path(*observed_name).is_ok())
      where = *observed_name;
    ModelNode& p = nodes_.at(parent);
    p.child_creates += 1;
    p.children.insert(base_name(where));
    p.stat.cversion += 1;
    p.stat.pzxid = zxid;
    p.stat.num_children += 1;
    ModelNode n;
    n.data = w.data;
    n.container = w.container;
    if (w.acl) n.acl = stored_acl(*fixup_acl(*w.acl, w.auth));
    n.stat.czxid = n.stat.mzxid = n.stat.pzxid = zxid;
    n.stat.ctime = n.stat.mtime = time_ms;
    n.stat.data_length = static_cast<int32_t>(w.data.size());
    n.stat.ttl_ms = w.ttl_ms.value_or(0);
    if (w.ephemeral) {
      n.stat.ephemeral_owner = w.session;
      auto& live = ephemerals_[w.session];
      live.push_back(where);
      peak_[w.session] = std::max(peak_[w.session], live.size());
    }
    r.stat = n.stat;
    nodes_[where] = std::move(n);
    r.changed = {where, parent};
    const Acl& acl = nodes_.at(where).acl;
    ++change_;
    fire(where, WatchKind::Data, "NodeCreated", acl, &r.events);
    fire_persistent(where, "NodeCreated", acl, &r.events);
    ++change_;
    fire(parent, WatchKind::Child, "NodeChildrenChanged", p.acl, &r.events);
    fire_persistent(parent, "NodeChildrenChanged", p.acl, &r.events);
  } else if (w.op == "set_data") {
    ModelNode& n = nodes_.at(w.path);
    n.data = w.data;
    n.stat.mzxid = zxid;
    n.stat.mtime = time_ms;
    n.stat.version += 1;
    n.stat.data_length = static_cast<int32_t>(w.data.size());
    r.stat = n.stat;
    r.changed = {w.path};
    ++change_;
    fire(w.path, WatchKind::Data, "NodeDataChanged", n.acl, &r.events);
    fire_persistent(w.path, "NodeDataChanged", n.acl, &r.events);
  } else if (w.op == "delete") {
    remove_node(w.path, zxid, &r);
  }
  return r;
}

// Each operation applied in turn at the multi's zxid, as ZooKeeper applies a multi's
// transactions one after the other (each fires its watches; a one-shot watch fires once).
ModelWriteResult ZooKeeperModel::apply_multi(const ModelWrite& w, int64_t zxid, int64_t time_ms,
                                             const std::vector<std::string>* observed_names) {
  ModelWriteResult r;
  r.error = check(w, nullptr, &r.failed_op);
  if (!r.ok()) return r;
  size_t named = 0;
  for (const ModelWrite& op : w.ops) {
    ModelWrite one = op;
    one.session = w.session;
    one.auth = w.auth;
    const std::string* observed = nullptr;
    if (op.op == "create" && op.sequential && observed_names && named < observed_names->size())
      observed = &(*observed_names)[named++];
    ModelWriteResult sub = apply(one, zxid, time_ms, observed);
    ModelOpResult res;
    res.op = op.op;
    if (op.op == "create") res.path = sub.path;
    res.stat = sub.stat;  // a create's and a set_data's
    r.results.push_back(std::move(res));
    for (auto& p : sub.changed) r.changed.push_back(std::move(p));
    for (auto& p : sub.deleted) r.deleted.push_back(std::move(p));
    for (auto& e : sub.events) r.events.push_back(std::move(e));
  }
  return r;
}

std::vector<std::string> ZooKeeperModel::empty_containers() const {
  std::vector<std::string> out;
  for (const auto& [path, n] : nodes_)
    if (n.empty_container()) out.push_back(path);
  return out;
}

int64_t ZooKeeperModel::add_persistent(const std::string& session, const std::string& path,
                                       bool recursive, int64_t id) {
  if (id < 0) id = next_watch_id_++;
  if (closed(session)) return id;
  auto& regs = persistent_[path];
  std::erase_if(regs, [&](const Persistent& p) { return p.session == session; });
  regs.push_back(Persistent{id, session, recursive});
  return id;
}

ModelWriteResult ZooKeeperModel::close_session(const std::string& session, int64_t zxid) {
  ModelWriteResult r;
  if (!closed_.insert(session).second) return r;
  for (auto it = persistent_.begin(); it != persistent_.end();) {
    std::erase_if(it->second, [&](const Persistent& p) { return p.session == session; });
    it = it->second.empty() ? persistent_.erase(it) : std::next(it);
  }
  for (auto it = watches_.begin(); it != watches_.end();) {
    auto& regs = it->second;
    regs.erase(std::remove_if(regs.begin(), regs.end(),
                              [&](const Registration& g) { return g.session == session; }),
               regs.end());
    it = regs.empty() ? watches_.erase(it) : std::next(it);
  }
  const std::vector<std::string> live = ephemerals(session);
  for (const std::string& path : zookeeper_close_order(live, peak_[session]))
    remove_node(path, zxid, &r);
  ephemerals_.erase(session);
  return r;
}

// The node a read answers from, or nullptr with r->error set: BadArguments (the client's path
// rules), NoNode, or NoAuth when `ids` may not do `wanted` on it (0: no permission needed).
const ModelNode* ZooKeeperModel::read_node(const std::string& path,
                                           const std::vector<Identity>& ids, int32_t wanted,
                                           ModelReadResult* r) const {
  if (!validate_client_path(path).is_ok()) {
    r->error = "BadArguments";
    return nullptr;
  }
  const ModelNode* n = node(path);
  if (!n) {
    r->error = "NoNode";
  } else if (wanted != 0 && !acl_permits(n->acl, wanted, ids)) {
    r->error = "NoAuth";
    n = nullptr;
  }
  return n;
}

ModelReadResult ZooKeeperModel::get_data(const std::string& path,
                                         const std::vector<Identity>& ids) const {
  ModelReadResult r;
  if (const ModelNode* n = read_node(path, ids, perm::kRead, &r)) {
    r.data = n->data;
    r.stat = n->stat;
  }
  return r;
}

ModelReadResult ZooKeeperModel::exists(const std::string& path) const {
  ModelReadResult r;
  if (const ModelNode* n = read_node(path, {}, 0, &r)) r.stat = n->stat;
  if (r.error == "NoNode") r.error.clear();  // exists answers a missing node with no stat
  return r;
}

ModelReadResult ZooKeeperModel::get_acl(const std::string& path,
                                        const std::vector<Identity>& ids) const {
  ModelReadResult r;
  if (const ModelNode* n = read_node(path, ids, perm::kRead | perm::kAdmin, &r)) {
    r.stat = n->stat;
    r.acl = acl_as_read(n->acl, acl_permits(n->acl, perm::kAdmin, ids));
  }
  return r;
}

ModelReadResult ZooKeeperModel::get_children(const std::string& path,
                                             const std::vector<Identity>& ids) const {
  ModelReadResult r;
  if (const ModelNode* n = read_node(path, ids, perm::kRead, &r)) {
    r.stat = n->stat;
    r.children.assign(n->children.begin(), n->children.end());
  }
  return r;
}

int64_t ZooKeeperModel::add_watch(const std::string& session, const std::string& path,
                                  WatchKind kind, int64_t id) {
  if (id < 0) id = next_watch_id_++;
  if (!closed(session)) watches_[{path, kind}].push_back(Registration{id, session});
  return id;
}

size_t ZooKeeperModel::watch_count() const {
  size_t n = 0;
  for (const auto& [path, regs] : persistent_) n += regs.size();
  for (const auto& [key, regs] : watches_) n += regs.size();
  return n;
}

std::vector<std::string> ZooKeeperModel::ephemerals(const std::string& session) const {
  auto it = ephemerals_.find(session);
  return it == ephemerals_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace fkemu
