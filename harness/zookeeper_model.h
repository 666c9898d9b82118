// ZooKeeperModel: a plain sequential ZooKeeper 3.8, the oracle of the history checker.
//
// It knows nothing of FaaSKeeper: one tree, one thread, writes applied one at a time at the
// zxid the caller gives, with exactly the answers and stats ZooKeeper 3.8 gives
// (docs/zookeeper-facts.md):
//   * the initial tree "/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota" (all zxids 0,
//     "/" cversion -1, "/zookeeper" cversion -2, "/zookeeper/config" aversion -1);
//   * cversion counts child creates and deletes; the sequential suffix is %010d of the number
//     of children ever created under the parent (one counter per parent, shared by prefixes);
//   * error precedence: create BadArguments (client rules), NoNode (parent), BadArguments
//     (server character rules), NodeExists, NoChildrenForEphemerals; delete BadArguments
//     (client rules, "/" and the three built-in /zookeeper nodes), NoNode, BadVersion,
//     NotEmpty; set_data BadArguments (client rules), NoNode, BadVersion; any write of a
//     closed session SessionExpired;
//   * close_session deletes the session's ephemerals in ZooKeeper's HashSet order
//     (core/model/close_order.h), all at the close's zxid;
//   * a watch table: registrations per (path, data|child), one-shot, fired per ZooKeeper's
//     table: create fires NodeCreated on the node's data watches, then NodeChildrenChanged on
//     the parent's child watches; delete fires NodeDeleted on the node's data and child
//     watches, then the parent's NodeChildrenChanged; set_data fires NodeDataChanged on data
//     watches. A closing session's own registrations are dropped before its ephemerals go.
// Data sizes are not limited (ZooKeeper's 1 MiB limit is a connection error, not an answer).
//
// Example:
//   ZooKeeperModel m;
//   m.add_watch("b", "/a", WatchKind::Data);                       // exists watch on /a
//   auto r = m.apply({.op = "create", .session = "a", .path = "/a"}, /*zxid=*/1);
//   // r.ok(), r.path == "/a", r.stat->czxid == 1, r.events == {b NodeCreated /a}
//
// The implementation is in this header (inline): harness/CMakeLists.txt keeps every
// harness/zookeeper_*.cc out of fkemu_harness (they are the libzookeeper reference runner).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/model/close_order.h"
#include "core/model/path.h"
#include "core/model/stat.h"

namespace fkemu {

enum class WatchKind { Data, Child };  // data: get_data and exists; child: get_children

struct ModelNode {
  std::string data;
  Stat stat;
  int64_t child_creates = 0;       // children ever created here: the sequential counter
  std::set<std::string> children;  // names, byte order
};

// What a write's checks look at, for one node (exists == false: nothing else is meaningful).
struct NodeView {
  bool exists = false;
  std::optional<std::string> ephemeral_owner;
  int32_t version = 0;
  int32_t num_children = 0;
  int64_t child_creates = 0;
};
using NodeLookup = std::function<NodeView(const std::string& path)>;

struct ModelWrite {
  std::string op;  // create | set_data | delete | close
  std::string session;
  std::string path;
  std::string data;
  bool ephemeral = false;
  bool sequential = false;
  int32_t version = -1;
};

struct ModelEvent {
  std::string session;
  int64_t registration = 0;
  std::string event;  // NodeCreated NodeDeleted NodeDataChanged NodeChildrenChanged
  std::string path;
};

struct ModelWriteResult {
  std::string error;                 // empty when the write succeeded, else ZooKeeper's error name
  std::string path;                  // create: the created node (with its sequential suffix)
  std::optional<Stat> stat;          // create and set_data: the node's new stat
  std::vector<std::string> deleted;  // delete: the node; close: the ephemerals, in order
  std::vector<std::string> changed;  // every node whose record changed (incl. parents)
  std::vector<ModelEvent> events;    // in the order ZooKeeper fires them
  bool ok() const { return error.empty(); }
};

struct ModelReadResult {
  std::string error;  // empty, NoNode or BadArguments (exists on a missing node: ok, no stat)
  std::string data;
  std::optional<Stat> stat;
  std::vector<std::string> children;  // sorted
  bool ok() const { return error.empty(); }
};

class ZooKeeperModel {
 public:
  ZooKeeperModel();

  // Applies a create, set_data, delete or close at `zxid`; `time_ms` becomes ctime/mtime.
  // `observed_name`: for a sequential create, the name the system under test answered; when it
  // differs from ZooKeeper's but is a free name under the same parent, the node is created
  // there (the answer still names ZooKeeper's), so that one wrong suffix does not make every
  // later read of that node disagree.
  ModelWriteResult apply(const ModelWrite& w, int64_t zxid, int64_t time_ms = 0,
                         const std::string* observed_name = nullptr);
  ModelWriteResult close_session(const std::string& session, int64_t zxid);

  // The error ZooKeeper answers to `w` (empty: it succeeds) without applying it.
  std::string check(const ModelWrite& w, std::string* created_path = nullptr) const;
  // The same rules over any view of the tree (the checker asks about past states with it).
  // Session state is not part of it: SessionExpired is the instance's check.
  static std::string check(const ModelWrite& w, const NodeLookup& lookup,
                           std::string* created_path = nullptr);
  static std::string sequential_name(const std::string& prefix, int64_t count);

  ModelReadResult get_data(const std::string& path) const;
  ModelReadResult exists(const std::string& path) const;
  ModelReadResult get_children(const std::string& path) const;

  const ModelNode* node(const std::string& path) const;
  NodeView view(const std::string& path) const;

  // Registers a one-shot watch and returns its id (`id` if given, else a fresh one). A closed
  // session registers nothing (the id is returned all the same and never fires).
  int64_t add_watch(const std::string& session, const std::string& path, WatchKind kind,
                    int64_t id = -1);
  size_t watch_count() const;

  bool closed(const std::string& session) const { return closed_.count(session) > 0; }
  // The session's live ephemerals in creation order.
  std::vector<std::string> ephemerals(const std::string& session) const;

 private:
  struct Registration {
    int64_t id;
    std::string session;
  };
  void fire(const std::string& path, WatchKind kind, const char* event,
            std::vector<ModelEvent>* out);
  void remove_node(const std::string& path, int64_t zxid, ModelWriteResult* r);

  std::map<std::string, ModelNode> nodes_;
  std::map<std::string, std::vector<std::string>> ephemerals_;  // session -> live, in order
  std::map<std::string, size_t> peak_;                          // session -> most held at once
  std::set<std::string> closed_;
  std::map<std::pair<std::string, WatchKind>, std::vector<Registration>> watches_;
  int64_t next_watch_id_ = 1;
};

// ---- implementation ----------------------------------------------------------------------

inline ZooKeeperModel::ZooKeeperModel() {
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
  nodes_["/"] = std::move(root);
  nodes_["/zookeeper"] = std::move(zk);
  nodes_["/zookeeper/config"] = std::move(config);
  nodes_["/zookeeper/quota"] = ModelNode{};
}

inline std::string ZooKeeperModel::sequential_name(const std::string& prefix, int64_t count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%010lld", static_cast<long long>(count));
  return prefix + suffix;
}

inline std::string ZooKeeperModel::check(const ModelWrite& w, const NodeLookup& lookup,
                                         std::string* created_path) {
  if (w.op == "create") {
    if (!validate_client_path(w.path, w.sequential).is_ok()) return "BadArguments";
    if (!w.sequential && w.path == "/") return "NodeExists";
    const std::string parent = parent_path(w.sequential ? w.path + "0" : w.path);
    const NodeView p = lookup(parent);
    if (!p.exists) return "NoNode";
    const std::string name = w.sequential ? sequential_name(w.path, p.child_creates) : w.path;
    if (!validate_path(w.path, w.sequential).is_ok()) return "BadArguments";
    if (lookup(name).exists) return "NodeExists";
    if (p.ephemeral_owner) return "NoChildrenForEphemerals";
    if (created_path) *created_path = name;
    return {};
  }
  if (w.op == "delete") {
    if (!validate_client_path(w.path, false).is_ok()) return "BadArguments";
    if (w.path == "/" || w.path == "/zookeeper" || w.path == "/zookeeper/config" ||
        w.path == "/zookeeper/quota")
      return "BadArguments";
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
    if (w.version != -1 && w.version != n.version) return "BadVersion";
    return {};
  }
  if (w.op == "close") return {};
  return "BadArguments";
}

inline std::string ZooKeeperModel::check(const ModelWrite& w, std::string* created_path) const {
  if (closed(w.session) && w.op != "close") return "SessionExpired";
  return check(
      w, [this](const std::string& p) { return view(p); }, created_path);
}

inline const ModelNode* ZooKeeperModel::node(const std::string& path) const {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

inline NodeView ZooKeeperModel::view(const std::string& path) const {
  NodeView v;
  const ModelNode* n = node(path);
  if (!n) return v;
  v.exists = true;
  v.ephemeral_owner = n->stat.ephemeral_owner;
  v.version = n->stat.version;
  v.num_children = n->stat.num_children;
  v.child_creates = n->child_creates;
  return v;
}

inline void ZooKeeperModel::fire(const std::string& path, WatchKind kind, const char* event,
                                 std::vector<ModelEvent>* out) {
  auto it = watches_.find({path, kind});
  if (it == watches_.end()) return;
  for (const Registration& r : it->second) out->push_back(ModelEvent{r.session, r.id, event, path});
  watches_.erase(it);
}

inline void ZooKeeperModel::remove_node(const std::string& path, int64_t zxid,
                                        ModelWriteResult* r) {
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return;
  if (const auto& owner = it->second.stat.ephemeral_owner) {
    auto& live = ephemerals_[*owner];
    live.erase(std::remove(live.begin(), live.end(), path), live.end());
  }
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
  fire(path, WatchKind::Data, "NodeDeleted", &r->events);
  fire(path, WatchKind::Child, "NodeDeleted", &r->events);
  fire(parent, WatchKind::Child, "NodeChildrenChanged", &r->events);
}

inline ModelWriteResult ZooKeeperModel::apply(const ModelWrite& w, int64_t zxid, int64_t time_ms,
                                              const std::string* observed_name) {
  if (w.op == "close") return close_session(w.session, zxid);
  ModelWriteResult r;
  std::string name;
  r.error = check(w, &name);
  if (!r.ok()) return r;

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
    n.stat.czxid = n.stat.mzxid = n.stat.pzxid = zxid;
    n.stat.ctime = n.stat.mtime = time_ms;
    n.stat.data_length = static_cast<int32_t>(w.data.size());
    if (w.ephemeral) {
      n.stat.ephemeral_owner = w.session;
      auto& live = ephemerals_[w.session];
      live.push_back(where);
      peak_[w.session] = std::max(peak_[w.session], live.size());
    }
    r.stat = n.stat;
    nodes_[where] = std::move(n);
    r.changed = {where, parent};
    fire(where, WatchKind::Data, "NodeCreated", &r.events);
    fire(parent, WatchKind::Child, "NodeChildrenChanged", &r.events);
  } else if (w.op == "set_data") {
    ModelNode& n = nodes_.at(w.path);
    n.data = w.data;
    n.stat.mzxid = zxid;
    n.stat.mtime = time_ms;
    n.stat.version += 1;
    n.stat.data_length = static_cast<int32_t>(w.data.size());
    r.stat = n.stat;
    r.changed = {w.path};
    fire(w.path, WatchKind::Data, "NodeDataChanged", &r.events);
  } else if (w.op == "delete") {
    remove_node(w.path, zxid, &r);
  }
  return r;
}

inline ModelWriteResult ZooKeeperModel::close_session(const std::string& session, int64_t zxid) {
  ModelWriteResult r;
  if (!closed_.insert(session).second) return r;
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

inline ModelReadResult ZooKeeperModel::get_data(const std::string& path) const {
  ModelReadResult r;
  if (!validate_client_path(path).is_ok()) {
    r.error = "BadArguments";
  } else if (const ModelNode* n = node(path)) {
    r.data = n->data;
    r.stat = n->stat;
  } else {
    r.error = "NoNode";
  }
  return r;
}

inline ModelReadResult ZooKeeperModel::exists(const std::string& path) const {
  ModelReadResult r;
  if (!validate_client_path(path).is_ok()) {
    r.error = "BadArguments";
  } else if (const ModelNode* n = node(path)) {
    r.stat = n->stat;
  }
  return r;
}

inline ModelReadResult ZooKeeperModel::get_children(const std::string& path) const {
  ModelReadResult r;
  if (!validate_client_path(path).is_ok()) {
    r.error = "BadArguments";
  } else if (const ModelNode* n = node(path)) {
    r.stat = n->stat;
    r.children.assign(n->children.begin(), n->children.end());
  } else {
    r.error = "NoNode";
  }
  return r;
}

inline int64_t ZooKeeperModel::add_watch(const std::string& session, const std::string& path,
                                         WatchKind kind, int64_t id) {
  if (id < 0) id = next_watch_id_++;
  if (!closed(session)) watches_[{path, kind}].push_back(Registration{id, session});
  return id;
}

inline size_t ZooKeeperModel::watch_count() const {
  size_t n = 0;
  for (const auto& [key, regs] : watches_) n += regs.size();
  return n;
}

inline std::vector<std::string> ZooKeeperModel::ephemerals(const std::string& session) const {
  auto it = ephemerals_.find(session);
  return it == ephemerals_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace fkemu
