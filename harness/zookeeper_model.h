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
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/model/acl.h"
#include "core/model/stat.h"

namespace fkemu {

enum class WatchKind { Data, Child };  // data: get_data and exists; child: get_children

struct ModelNode {
  std::string data;
  Stat stat;
  int64_t child_creates = 0;       // children ever created here: the sequential counter
  std::set<std::string> children;  // names, byte order
  bool container = false;          // ZooKeeper's container node
  Acl acl;                         // stored form (core/model/acl.h): empty = world:anyone, all
  // An empty container that has had children: ZooKeeper's container manager deletes it.
  bool empty_container() const { return container && children.empty() && stat.cversion > 0; }
  // A TTL node without children: ZooKeeper's container manager deletes it once its data has
  // not changed for longer than its time to live.
  bool childless_ttl() const { return stat.ttl_ms > 0 && children.empty(); }
};

// What a write's checks look at, for one node (exists == false: nothing else is meaningful).
struct NodeView {
  bool exists = false;
  std::optional<std::string> ephemeral_owner;
  int32_t version = 0;
  int32_t num_children = 0;
  int64_t child_creates = 0;
  int32_t aversion = 0;
  Acl acl;  // stored form
};
using NodeLookup = std::function<NodeView(const std::string& path)>;

struct ModelWrite {
  // (Brace-initialized positionally in places: new members go last, each with a default.)
  std::string op;  // create | set_data | delete | close | check | multi | add_watch
  std::string session;
  std::string path;
  std::string data;
  bool ephemeral = false;
  bool sequential = false;
  int32_t version = -1;
  bool container = false;                 // create: a container node
  bool recursive = false;                 // add_watch: persistent recursive
  int64_t watch_id = -1;                  // add_watch: the registration's id (-1: a fresh one)
  std::vector<ModelWrite> ops = {};       // multi: its operations (create, delete, set_data, check)
  std::optional<Acl> acl = std::nullopt;  // create (none: world:anyone, all) and set_acl
  std::vector<Identity> auth = {};        // the session's identities when it was invoked
  // create: a TTL mode's time to live as the client gave it (negative: a time given with a
  // mode that is not a TTL mode); ttl_nodes: whether the server has TTL nodes on (ZooKeeper's
  // zookeeper.extendedTypesEnabled).
  std::optional<int64_t> ttl_ms = std::nullopt;
  bool ttl_nodes = true;
};

// A write of `op` on `path` by `session`, the other members at their defaults.
inline ModelWrite make_write(std::string op, std::string session, std::string path) {
  ModelWrite w;
  w.op = std::move(op);
  w.session = std::move(session);
  w.path = std::move(path);
  return w;
}

struct ModelEvent {
  std::string session;
  int64_t registration = 0;
  std::string event;  // NodeCreated NodeDeleted NodeDataChanged NodeChildrenChanged
  std::string path;
  bool persistent = false;  // fired by an add_watch registration (which stays)
  // Delivered for certain: the session may READ the node with the identities it surely had
  // (set_identities' `surely`); otherwise it may or may not be, as the identities it had when
  // the change was applied are not known.
  bool certain = true;
  // The change (one node's create, data change or delete, or a parent's children list) that
  // fired it, numbered in the order the model applies them: a session receives the events
  // of one zxid in this order (those of one change in any order).
  int64_t change = 0;
};

// One operation's answer in a multi that succeeded: a create's name, a set_data's stat.
struct ModelOpResult {
  std::string op;
  std::string path;
  std::optional<Stat> stat;
};

struct ModelWriteResult {
  std::string error;                 // empty when the write succeeded, else ZooKeeper's error name
  std::string path;                  // create: the created node (with its sequential suffix)
  std::optional<Stat> stat;          // create and set_data: the node's new stat
  std::vector<std::string> deleted;  // delete: the node; close: the ephemerals, in order
  std::vector<std::string> changed;  // every node whose record changed (incl. parents)
  std::vector<ModelEvent> events;    // in the order ZooKeeper fires them
  int failed_op = -1;                // a refused multi: the operation that failed
  std::vector<ModelOpResult> results;  // a multi's, one per operation
  bool ok() const { return error.empty(); }
};

struct ModelReadResult {
  std::string error;  // empty, NoNode or BadArguments (exists on a missing node: ok, no stat)
  std::string data;
  std::optional<Stat> stat;
  std::vector<std::string> children;  // sorted
  Acl acl;                            // get_acl: as ZooKeeper lists it
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
  // A multi's `observed_names` are its sequential creates' answered names, in order.
  ModelWriteResult apply(const ModelWrite& w, int64_t zxid, int64_t time_ms = 0,
                         const std::string* observed_name = nullptr,
                         const std::vector<std::string>* observed_names = nullptr);
  ModelWriteResult close_session(const std::string& session, int64_t zxid);

  // The error ZooKeeper answers to `w` (empty: it succeeds) without applying it; a refused
  // multi's failing operation goes to *failed_op.
  std::string check(const ModelWrite& w, std::string* created_path = nullptr,
                    int* failed_op = nullptr) const;
  // The same rules over any view of the tree (the checker asks about past states with it).
  // Session state is not part of it: SessionExpired is the instance's check. A multi's
  // operations are checked as ZooKeeper checks them: every path by the client's rules first,
  // then each operation against the tree as the ones before it leave it.
  static std::string check(const ModelWrite& w, const NodeLookup& lookup,
                           std::string* created_path = nullptr, int* failed_op = nullptr);
  static std::string sequential_name(const std::string& prefix, int64_t count);

  // Reads as `ids` (NoAuth without READ; get_acl: without READ and ADMIN).
  ModelReadResult get_data(const std::string& path, const std::vector<Identity>& ids = {}) const;
  ModelReadResult exists(const std::string& path) const;
  ModelReadResult get_children(const std::string& path,
                               const std::vector<Identity>& ids = {}) const;
  ModelReadResult get_acl(const std::string& path, const std::vector<Identity>& ids = {}) const;
  // A session's identities, which decide the watch events it may receive (only for nodes it
  // may READ, as ZooKeeper 3.8 with the fix of CVE-2024-23944; a one-shot watch is spent all
  // the same).
  // `surely`: those it surely had by then (a subset; the same when they are known exactly).
  void set_identities(const std::string& session, std::vector<Identity> ids,
                      std::vector<Identity> surely) {
    identities_[session] = std::move(ids);
    sure_identities_[session] = std::move(surely);
  }

  const ModelNode* node(const std::string& path) const {
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  NodeView view(const std::string& path) const;

  // The empty containers that have had children, in path order: what ZooKeeper's container
  // manager would delete now (fkemu deletes each at once, through its writer: decision 48).
  std::vector<std::string> empty_containers() const;

  // Registers a persistent watch (addWatch; `recursive`: the node and every node below it,
  // data changes, creates and deletes) and returns its id. It replaces the session's earlier
  // one on the same path, as fkemu's client library keeps one per path (decision 51).
  int64_t add_persistent(const std::string& session, const std::string& path, bool recursive,
                         int64_t id = -1);

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
  struct Persistent {
    int64_t id;
    std::string session;
    bool recursive;
  };
  // (`acl`: the node's whose change it is, which the watching session must be allowed to READ)
  void fire(const std::string& path, WatchKind kind, const char* event, const Acl& acl,
            std::vector<ModelEvent>* out);
  bool may_read(const std::string& session, const Acl& acl, bool surely = false) const;
  const ModelNode* read_node(const std::string& path, const std::vector<Identity>& ids,
                             int32_t wanted, ModelReadResult* r) const;
  // The persistent watches a change of `path` fires: its own, and for every event but
  // NodeChildrenChanged the recursive ones at it and above it.
  void fire_persistent(const std::string& path, const char* event, const Acl& acl,
                       std::vector<ModelEvent>* out);
  ModelWriteResult apply_multi(const ModelWrite& w, int64_t zxid, int64_t time_ms,
                               const std::vector<std::string>* observed_names);
  void remove_node(const std::string& path, int64_t zxid, ModelWriteResult* r);

  std::map<std::string, ModelNode> nodes_;
  std::map<std::string, std::vector<std::string>> ephemerals_;  // session -> live, in order
  std::map<std::string, size_t> peak_;                          // session -> most held at once
  std::set<std::string> closed_;
  std::map<std::pair<std::string, WatchKind>, std::vector<Registration>> watches_;
  std::map<std::string, std::vector<Persistent>> persistent_;  // path -> registrations
  std::map<std::string, std::vector<Identity>> identities_;    // session -> its identities
  std::map<std::string, std::vector<Identity>> sure_identities_;
  int64_t change_ = 0;  // ModelEvent::change of the change being fired
  int64_t next_watch_id_ = 1;
};

}  // namespace fkemu
