// The protocol's records, typed: what the writer, the distributor, the watch and heartbeat
// functions and the client library store in the system store (table "nodes", "sessions",
// "watches", "epoch", "progress"), send through the queues and the client channel, and write to
// the user store. The protocol reads and builds these structs only; a misspelt field does not
// compile. Attribute names are spelt once, in `attr` below, and the codecs (records.cc) are
// the one place that knows how a record is laid out in a store item or a queue message.
//
// The layout (docs/architecture.md has the tables):
//   nodes/<path>       NodeRecord: exists, stat, children, creates, + Lockable
//   sessions/<name>    SessionRecord: alive, last_req, last_error, ephemerals, timeout_ms,
//                      last_seen, watch_keys, + Lockable
//   watches/<key>      WatchList: regs, ver (core/protocol/watch.h)
//   epoch/<zxid>       EpochEntry: zxid, sessions
//   progress/distributor  Progress: last_zxid, last_answer
//   ttl/<path>         {zxid}: a TTL node and its czxid, for the TTL function (core/protocol/ttl.h)
//   user store <path>  UserRecord: data, stat, children (or tombstone), zxid, epoch, update
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/model/acl.h"
#include "core/model/bytes.h"
#include "core/model/stat.h"
#include "core/runtime/clock.h"
#include "core/services/kv_store.h"
#include "core/services/value.h"
#include "core/status.h"

namespace fkemu {

// Attribute names of the system store's items.
namespace attr {
inline constexpr const char* kLock = "lock";
inline constexpr const char* kLockOwner = "lock_owner";
inline constexpr const char* kPending = "pending";
inline constexpr const char* kNode = "node";  // a node item's NodeState, packed
inline constexpr const char* kStat = "stat";
inline constexpr const char* kAlive = "alive";
inline constexpr const char* kLastReq = "last_req";
inline constexpr const char* kLastError = "last_error";
inline constexpr const char* kEphemerals = "ephemerals";
inline constexpr const char* kTimeoutMs = "timeout_ms";
inline constexpr const char* kLastSeen = "last_seen";
inline constexpr const char* kWatchKeys = "watch_keys";
inline constexpr const char* kRegs = "regs";
inline constexpr const char* kVer = "ver";
inline constexpr const char* kZxid = "zxid";
inline constexpr const char* kSessions = "sessions";
inline constexpr const char* kLastZxid = "last_zxid";
inline constexpr const char* kLastAnswer = "last_answer";
inline constexpr const char* kUpdate = "update";  // an update's triggers, packed
// The user store's objects: the data, the packed rest, the zxid, a deletion's zxid.
inline constexpr const char* kData = "data";
inline constexpr const char* kRecord = "record";
inline constexpr const char* kTombstone = "tombstone";
}  // namespace attr

using ItemKey = std::pair<std::string, std::string>;  // (table, key)

// The writer attempt that holds a timelock: the attempt's number and the function instance
// (executor process) making it. Stored as "a<attempt>@<process>".
struct LockOwner {
  uint64_t attempt = 0;
  uint64_t process = 0;
  std::string to_string() const;
  // nullopt unless `text` is exactly "a<digits>@<digits>".
  static std::optional<LockOwner> parse(std::string_view text);
  bool operator==(const LockOwner&) const = default;
};

// What every lockable item (a node, a session) carries for the writer and the distributor: the
// timelock and the ids of committed updates not yet applied, in zxid order.
struct Lockable {
  std::optional<Time> lock;               // acquisition time on the locking instance's clock
  std::optional<std::string> lock_owner;  // LockOwner::to_string(), or whatever an old item had
  std::vector<std::string> pending;

  bool locked_by(const LockOwner& o) const { return lock_owner && *lock_owner == o.to_string(); }
  bool has_pending(const std::string& uid) const;
  static Lockable from_item(const Item& item);
};

// The fields of a node that a commit writes.
struct NodeState {
  bool exists = false;
  Stat stat;
  std::vector<std::string> children;  // sorted
  int64_t creates = 0;                // children ever created: the sequential suffix
  bool container = false;             // a container node (CreateRequest::container)
  Acl acl{};                          // stored form: empty for world:anyone, all (decision 50)
  bool operator==(const NodeState&) const = default;
  // A container that has had children and has none: the service deletes it.
  bool empty_container() const {
    return exists && container && children.empty() && stat.cversion > 0;
  }

  // Packed bytes, as a stat is (decision 41): the node item's `node` attribute and an update
  // message's change. from_value reads null as no node and throws std::invalid_argument,
  // naming the damage, on anything else that is not a packed node.
  std::vector<Update> set_updates() const;  // the one Set of `node`
  Value to_value() const;
  static NodeState from_value(const Value& v);
  nlohmann::json to_json() const;  // for dumps
};

struct NodeRecord {
  NodeState node;
  Lockable book;
  static NodeRecord from_item(const Item& item);
};

struct LastError {
  int64_t req = 0;
  Code error = Code::Ok;
  int failed_op = -1;  // a multi's
  Value to_value() const;
};

struct SessionRecord {
  bool alive = false;
  // The item has no alive attribute: a lock alone made it (a late request locked a session that
  // had been forgotten).
  bool lock_stub = false;
  int64_t last_req = 0;  // the highest request number decided
  std::optional<LastError> last_error;
  std::vector<std::string> ephemerals;  // in creation order, possibly repeated
  int64_t timeout_ms = 0;
  Time last_seen = 0;
  std::vector<std::string> watch_keys;
  Lockable book;

  static SessionRecord from_item(const Item& item);
  // A new session's item (the rest is added by updates).
  Item to_new_item() const;
};

// --- The writer queue -------------------------------------------------------------------------

enum class WriteOp { Create, Delete, SetData, Close, Multi, SetAcl, AddWatch };
// create | delete | set_data | close | multi | set_acl | add_watch
const char* write_op_name(WriteOp op);

struct CreateRequest {
  std::string path;
  Bytes data;
  bool ephemeral = false;
  bool sequential = false;
  // ZooKeeper's container node: deleted once it has had children and has none again.
  bool container = false;
  // ZooKeeper's TTL node (decision 53): a persistent node the service deletes once it has had no
  // children and no change of its data for longer than this many milliseconds. Set for a TTL
  // create mode, with the time the client gave: the writer answers BadArguments unless it is
  // in 1..kMaxTtlMs and the node is neither ephemeral nor a container, as ZooKeeper does.
  std::optional<int64_t> ttl_ms{};
  // The ACL the client asked for, before the writer's fixup (decision 50); none: world:anyone,
  // all (clients of the HTTP API and scenarios, which have no ACLs).
  std::optional<Acl> acl{};
};
// ZooKeeper's largest time to live: 40 bits of milliseconds (about 34 years).
inline constexpr int64_t kMaxTtlMs = (int64_t{1} << 40) - 1;
struct DeleteRequest {
  std::string path;
  int32_t version = -1;
  // The cleanup of a container (a request of the service's, with no session): only if the node
  // is still a container that has had children and has none now; otherwise nothing happens.
  bool only_empty_container = false;
  // The cleanup of a TTL node the TTL function found expired (a request of the service's, with
  // no session): only if the node is still the one it read (this czxid, and this mzxid: no
  // change of its data since) and has no children; otherwise nothing happens.
  struct Expired {
    int64_t czxid = 0;
    int64_t mzxid = 0;
    bool operator==(const Expired&) const = default;
  };
  std::optional<Expired> only_expired_ttl{};
};
struct SetDataRequest {
  std::string path;
  Bytes data;
  int32_t version = -1;
};
// A multi's version check (ZooKeeper's check op): the node exists and has this version (-1:
// any).
struct CheckRequest {
  std::string path;
  int32_t version = -1;
};
// One operation of a multi; the index is its kind (MultiOpKind).
using MultiOp = std::variant<CreateRequest, DeleteRequest, SetDataRequest, CheckRequest>;
enum class MultiOpKind { Create, Delete, SetData, Check };
inline MultiOpKind kind_of(const MultiOp& op) { return static_cast<MultiOpKind>(op.index()); }
const std::string& path_of(const MultiOp& op);
// Several operations applied atomically, in order, each checked against the state the ones
// before it leave (ZooKeeper's multi): all of them or none.
struct MultiRequest {
  std::vector<MultiOp> ops;
};
// ZooKeeper's setACL: the node's ACL replaced if its aversion is `version` (-1: any).
struct SetAclRequest {
  std::string path;
  Acl acl{};  // as the client asked, before the writer's fixup
  int32_t version = -1;
};
// ZooKeeper's addWatch (decision 51): a persistent watch on `path` (its data and children), or
// a persistent recursive one (the data of `path` and of every node below it), which firing
// never removes. It goes through the writer queue as an update of its own, so that it has a
// place in the order of updates: the distributor registers it when it applies that update, and
// every later update fires it, no earlier one. `id`: the registration's, chosen by the client.
struct AddWatchRequest {
  std::string path;
  bool recursive = false;
  std::string id;
};
struct CloseRequest {
  // Set for the heartbeat's close of an expired session: the last_seen it read. The close
  // happens only if the session has not answered since.
  std::optional<Time> expired_last_seen;
};

// A client write request as it arrives in the writer queue (ClientSession and the heartbeat
// function send it).
struct WriteRequest {
  // Empty for a request of the service's own that concerns no session (a container's cleanup).
  std::string session;
  int64_t req_no = 0;  // < 0: a system request (the heartbeat's close of an expired session)
  std::variant<CreateRequest, DeleteRequest, SetDataRequest, CloseRequest, MultiRequest,
               SetAclRequest, AddWatchRequest>
      op;
  // The session's identities when it sent the request (its connection's and its addauth's):
  // what the writer checks ACLs against (decision 50). A system request is checked against
  // nothing.
  std::vector<Identity> auth{};

  WriteOp kind() const { return static_cast<WriteOp>(op.index()); }
  bool system() const { return req_no < 0; }
  // The node a create, delete or set_data names (empty for a close, a multi's first one).
  const std::string& path() const;
  // The node data of a create or set_data; null otherwise.
  const Bytes* data() const;
  // The size the writer's steps are keyed by in the latency model: the node data (a multi's
  // together).
  size_t data_bytes() const;
  bool sequential_create() const;

  Value to_message() const;
  // Throws std::invalid_argument or std::logic_error on a malformed message: only the client
  // library and the heartbeat function write the queue.
  static WriteRequest from_message(const Value& body);
};

// --- The distributor queue --------------------------------------------------------------------

// Parent: the node's children changed (no event of its own; its children's creates and deletes
// fire them). AclChange: its ACL and aversion changed (no event: ZooKeeper's setACL fires none).
enum class ChangeKind { Create, Set, Delete, Parent, Keep, AclChange };
const char* change_kind_name(ChangeKind k);

// One node an update changes. `node` is the node's state after the update, except for the
// zxid-dependent stat fields (czxid, mzxid, pzxid), which materialized() fills in once the
// queue has assigned the zxid. A Keep change writes the node as it was (its lock is released).
struct Change {
  std::string path;
  ChangeKind kind = ChangeKind::Keep;
  NodeState node;
  Bytes data;  // create and set only

  NodeState materialized(int64_t zxid) const;
};

// The zxid of the update a planned stat belongs to, before the queue has assigned it: a multi
// plans a node's stat after each of its operations, and materialize_stat puts the zxid in.
inline constexpr int64_t kThisZxid = -1;
Stat materialize_stat(Stat s, int64_t zxid);

// One operation of a multi, as answered: a create's node name, and the stat a create or a
// set_data leaves (its zxids kThisZxid until materialized).
struct OpOutcome {
  MultiOpKind kind = MultiOpKind::Check;
  std::optional<std::string> path;
  std::optional<Stat> stat;
  bool operator==(const OpOutcome&) const = default;
};

// A validated write on its way through the distributor queue.
struct UpdateMessage {
  std::string uid;  // session:req:attempt
  std::string session;
  int64_t req = 0;
  WriteOp op = WriteOp::Create;
  LockOwner attempt;
  ItemKey anchor;                         // the item whose pending list carries the update
  std::optional<Time> expired_last_seen;  // CloseRequest::expired_last_seen
  // A multi's in the order of its operations, a node possibly more than once (each time as the
  // operation leaves it); every other update's, each node once.
  std::vector<Change> changes;
  std::optional<std::string> created_path;  // a create's answer: the node's (sequential) name
  std::vector<OpOutcome> results;           // a multi's, one per operation
  std::optional<AddWatchRequest> watch;     // an add_watch's registration
  // Each node the update changes, once, as the update leaves it (a multi's changes folded).
  std::vector<Change> final_changes() const;
  // The ephemeral nodes it creates, in order.
  std::vector<std::string> created_ephemerals() const;

  // The node data the update carries: the size the distributor's steps are keyed by.
  size_t data_bytes() const;
  Value to_message() const;
  static UpdateMessage from_message(const Value& body);
};

// --- Epochs, progress and answers ---------------------------------------------------------------

// One update whose watch notifications are not all sent yet, and the sessions they go to.
struct EpochEntry {
  int64_t zxid = 0;
  std::vector<std::string> sessions;
  bool operator==(const EpochEntry&) const = default;
  static EpochEntry from_item(const Item& item);
};
using Epoch = std::vector<EpochEntry>;  // in zxid order

// The answer to a write (client channel), and what the distributor keeps of the last one.
struct WriteAnswer {
  int64_t req = 0;
  Code error = Code::Ok;  // not Ok: refused; nothing below is set
  int64_t zxid = 0;
  std::optional<std::string> path;  // create
  std::optional<Stat> stat;         // create, set_data
  std::vector<OpOutcome> results;   // multi
  int failed_op = -1;               // a refused multi: the operation that failed
  Epoch epoch;

  Value to_value() const;
  static WriteAnswer from_value(const Value& v);
};

struct Progress {
  int64_t last_zxid = 0;
  std::optional<WriteAnswer> last_answer;  // of the update last_zxid, if it was applied
  static Progress from_item(const Item& item);
};

// --- Watches ----------------------------------------------------------------------------------

// data: get_data and exists; child: get_children; persistent and recursive: addWatch's
// (decision 51; an update's triggers name data and child only).
enum class WatchType { Data, Child, Persistent, Recursive };
const char* watch_type_name(WatchType t);
std::optional<WatchType> watch_type_from_name(std::string_view name);

enum class EventType { NodeCreated, NodeDeleted, NodeDataChanged, NodeChildrenChanged };
const char* event_name(EventType e);

// A watch set by a read, as stored in the watches table (core/protocol/watch.h).
struct WatchRegistration {
  std::string id;
  std::string session;
  int64_t zxid = 0;     // the version read
  std::string op;       // get_data | exists | get_children | persistent | recursive
  bool existed = true;  // the node existed when the watch was set
  // Packed bytes (decision 43); from_value throws std::invalid_argument, naming the damage, on
  // anything else, and to_value on an operation other than the three.
  Value to_value() const;
  static WatchRegistration from_value(const Value& v);
  // The id alone, without reading the rest.
  static std::string_view id_of(const Value& v);
  nlohmann::json to_json() const;  // for dumps
};

struct WatchList {
  std::vector<WatchRegistration> regs;
  int64_t ver = 0;  // grows with every change of the list
  static WatchList from_item(const Item& item);
};

// Which watches one update fires, at one node: ZooKeeper's event table (triggers_for).
struct Trigger {
  std::string path;
  std::vector<WatchType> types;
  EventType event = EventType::NodeCreated;
  std::optional<int64_t> czxid;  // of the node at `path` after the update; none if deleted
  // The node's ACL (stored form; a deleted node's as it was): a session that may not READ the
  // node gets no event of it, as ZooKeeper's fix of CVE-2024-23944 (decision 51).
  Acl acl{};
  bool operator==(const Trigger&) const = default;
};

struct UpdateTriggers {
  int64_t zxid = 0;
  std::vector<Trigger> triggers;
  bool operator==(const UpdateTriggers&) const = default;
  // Packed bytes, as a stat is (decision 41); from_value throws std::invalid_argument, naming
  // the damage, on anything else.
  Value to_value() const;
  static UpdateTriggers from_value(const Value& v);
  void append_packed(std::string& out) const;
  static UpdateTriggers from_packed(std::string_view packed);
  // The zxid alone, without decoding the triggers.
  static int64_t zxid_of_packed(std::string_view packed);
  nlohmann::json to_json() const;  // for dumps
};

struct FiredEvent {
  std::string id;  // the registration
  EventType event = EventType::NodeCreated;
  std::string path;
  // The update's trigger (triggers_for's index) that fired it: events of one trigger are one
  // change, however many of a session's watches it fires; -1: not known.
  int64_t trigger = -1;
  Acl acl{};  // the trigger's (Trigger::acl)
};

// The distributor's message to the watch function.
struct WatchMessage {
  int64_t zxid = 0;
  std::set<std::string> owed;                             // sessions owed a message
  std::map<std::string, std::vector<FiredEvent>> events;  // per session
  std::map<std::string, std::vector<std::string>> fired;  // watch key -> registration ids
  // Packed bytes (decision 43); from_message throws std::invalid_argument, naming the damage,
  // on anything else.
  Value to_message() const;
  static WatchMessage from_message(const Value& body);
  nlohmann::json to_json() const;  // for dumps
};

// --- The user store -----------------------------------------------------------------------------

// What readers see of a node: its data, stat and children, or a tombstone with the zxid that
// deleted it; the zxid of the update it reflects, the epoch it was written in and, when that
// update fires watches, its triggers (from which a client fires a watch itself).
struct UserRecord {
  std::optional<int64_t> tombstone;  // set: the node was deleted by this zxid
  Bytes data;
  Stat stat;
  std::vector<std::string> children;
  Acl acl{};         // stored form (NodeState::acl)
  int64_t zxid = 0;  // 0: a record of the initial tree
  Epoch epoch;
  std::optional<UpdateTriggers> update;
  // The same triggers already packed (UpdateTriggers::to_value), written instead of `update`:
  // the distributor packs an update's triggers once and every record of the update shares
  // them, so that an update of n nodes (a close with n ephemerals) costs n, not n squared, in
  // time and memory. from_object fills `update` only.
  Value packed_update{};

  bool is_node() const { return !tombstone; }
  // The zxid the record reflects: the deletion's for a tombstone.
  int64_t version_zxid() const { return tombstone ? *tombstone : zxid; }
  // {data, record (the rest, packed: decision 41), zxid} or {record, tombstone, zxid};
  // from_object throws std::invalid_argument, naming the damage, on a damaged record.
  Value to_object() const;
  // `wants_update`: given the update's zxid, whether to decode its triggers (none: always);
  // `update` stays empty when not.
  static UserRecord from_object(const Value& object,
                                const std::function<bool(int64_t)>& wants_update = {});
  nlohmann::json to_json() const;  // the packed fields, for dumps
  // Single fields of a stored object, without decoding the rest: the data (shared, not copied)
  // and the zxid it reflects (0 for the initial tree's).
  static Bytes data_of(const Value& object);
  static int64_t zxid_of(const Value& object);
};

// --- The client channel ---------------------------------------------------------------------

// A watch event as the client's application gets it (its JSON form, at the edges:
// {"event": name, "path", "zxid"}).
struct WatchedEvent {
  EventType event = EventType::NodeCreated;
  std::string path;
  int64_t zxid = 0;
  int64_t trigger = -1;  // FiredEvent::trigger; -1 for an event the client fired itself
};
struct WatchNotification {
  int64_t zxid = 0;
  std::vector<FiredEvent> events;
};
struct Ping {
  Time sent = 0;
};
using ClientMessage = std::variant<WriteAnswer, WatchNotification, Ping>;

}  // namespace fkemu
