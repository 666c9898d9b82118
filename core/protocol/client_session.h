// ClientSession: the FaaSKeeper client library's logic for one session.
//
// Writes go into the writer queue (deduplication id = session:request number, one FIFO group
// for all writes or one per session) and complete when the distributor's answer arrives. Reads
// go straight to the user store. Answers are released to the caller in request order, whatever
// order they arrive in. Paths are validated and data sizes checked here, before anything is
// sent, as ZooKeeper's client does.
//
// Watches (get_data, exists, get_children with watch = true) follow FaaSKeeper's protocol: read,
// register in the system store with the version read, read again; if the node changed in
// between, the watch counts as set on the old version and the client fires it itself. Every
// registration fires exactly once: notifications for registrations already fired are dropped.
//
// Watch before data: a record or answer carries the epoch (notifications in flight). A result
// whose epoch names a notification this session is owed is held until that notification has
// arrived; a result that shows a change of a node this session watches fires that watch first.
//
// Runs on the deployment's executor; deliver() is called by the client channel.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/bytes.h"
#include "core/protocol/deployment.h"
#include "core/protocol/records.h"
#include "core/runtime/mailbox.h"
#include "core/runtime/task.h"
#include "core/status.h"

namespace fkemu {

// The answer to one operation: a create's path, the node's stat (null for exists on a missing
// node), get_children's names and get_data's bytes (the stored buffer itself).
struct OpResult {
  Status status;
  std::optional<std::string> path;
  std::optional<Stat> stat;
  bool stat_null = false;  // exists found no node
  std::optional<std::vector<std::string>> children;
  Bytes data;
  bool has_data = false;
  int64_t zxid = 0;                // the update's zxid for writes
  std::vector<OpOutcome> results;  // a multi's, one per operation
  int failed_op = -1;              // a refused multi: the operation that failed
  std::optional<Acl> acl;          // get_acl's (world:anyone, all for an open node)

  // What the history records for it (docs/scenarios.md): path, stat, children.
  nlohmann::json fields() const;

  // The result of an operation that failed with `status` (not OK).
  static OpResult failure(Status status) {
    OpResult r;
    r.status = std::move(status);
    return r;
  }
};

class ClientSession {
 public:
  ClientSession(Deployment& d, std::string name);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  const std::string& name() const { return name_; }
  bool closed() const { return closed_; }
  // Whether tasks of its own (answering a ping, coming back from a disconnect) still run: the
  // session object must outlive them.
  bool busy() const { return *background_ > 0; }

  // The session timeout the session registers with; the deployment's unless set before
  // connect() (a ZooKeeper client negotiates its own).
  void set_timeout(Duration timeout) { timeout_ = timeout; }
  Duration timeout() const { return timeout_ > 0 ? timeout_ : d_.config.session_timeout; }
  // Registers the session in the system store.
  Task<Status> connect();
  // Instead of connect(): takes up a session the system store holds already (a server that
  // restarted on its state file), with its timeout. Its request numbers continue far beyond
  // the last one decided, so that none is taken for a request of the earlier client library
  // still in the writer queue (whose answers are dropped: nobody waits for them).
  void resume(const SessionRecord& record);

  // The session's identities (decision 50): its connection's ("ip") and what `addauth` added.
  // Every operation started later carries them (a write to the writer; a read checks them), in
  // the order operations start, whatever order they end in. None (the default): only
  // world:anyone permits. As operations, so that they take their turn among the others.
  Task<OpResult> use_identities(std::vector<Identity> ids);
  Task<OpResult> add_identities(std::vector<Identity> ids);
  std::vector<Identity> identities() const { return identities_ ? *identities_ : Ids{}; }

  // The data is shared, not copied, on its way to the user store.
  // `container`: ZooKeeper's container node (deleted once it has had children and has none).
  // `acl`: as the client asks it, fixed up by the writer; none: world:anyone, all.
  // `ttl_ms`: a TTL node's time to live (CreateRequest::ttl_ms; decision 53).
  Task<OpResult> create(std::string path, Bytes data, bool ephemeral, bool sequential,
                        bool container = false, std::optional<Acl> acl = std::nullopt,
                        std::optional<int64_t> ttl_ms = std::nullopt);
  Task<OpResult> get_data(std::string path, bool watch);
  Task<OpResult> exists(std::string path, bool watch);
  // `check_acl` false: whatever the node's ACL (getAllChildrenNumber counts the nodes below
  // one it may read, whoever may read them).
  Task<OpResult> get_children(std::string path, bool watch, bool check_acl = true);
  // A watched read (get_data, exists or get_children) that sets the watch whatever the node's
  // ACL: ZooKeeper's setWatches, which checks no ACL, restores watches so.
  Task<OpResult> rewatch(std::string path, const char* op);
  Task<OpResult> set_data(std::string path, Bytes data, int version);
  Task<OpResult> remove(std::string path, int version);
  // ZooKeeper's getACL and setACL (`version`: the aversion, -1 any). get_acl needs READ or
  // ADMIN; without ADMIN, digest ids are shown as "user:x", as ZooKeeper shows them.
  Task<OpResult> get_acl(std::string path);
  Task<OpResult> set_acl(std::string path, Acl acl, int version);
  // ZooKeeper's addWatch (decision 51): a persistent watch on `path` (NodeCreated, NodeDeleted,
  // NodeDataChanged and NodeChildrenChanged of the node), or a recursive one (NodeCreated,
  // NodeDeleted and NodeDataChanged of the node and of every node below it), for every update
  // after this one, until removed (forget_watches of both kinds) or the session closes. A
  // session has one persistent watch per path: a second add_watch on it replaces the first.
  Task<OpResult> add_watch(std::string path, bool recursive);
  // ZooKeeper's multi: the operations applied atomically, in order, or none of them; refused,
  // the result names the operation that failed (failed_op) and its error. At most
  // kMaxMultiOps operations (MarshallingError beyond: as many as zkCli's deleteall batches).
  static constexpr size_t kMaxMultiOps = 1000;
  Task<OpResult> multi(std::vector<MultiOp> ops);
  Task<OpResult> close();

  // A message from the client channel: an answer, a watch event or a ping. While the client
  // is disconnected (fault site client.disconnect) answers and events are held until it is
  // back and pings are lost.
  void deliver(const ClientMessage& message);
  // When the client stopped answering heartbeats because of an injected fault
  // (session.unresponsive), not because a step asked it to: the checker is told.
  const std::vector<Time>& stopped_answering() const { return stopped_answering_; }

  // Every watch event the session observes, in order: {event, path, zxid}.
  void set_event_listener(std::function<void(const WatchedEvent&)> f) { on_event_ = std::move(f); }
  // The client stops answering heartbeats (scenario op "expire"). Its next operation first
  // reconnects: it fails with SessionExpired if the service expired the session meanwhile.
  void stop_answering_heartbeats() { unresponsive_ = true; }
  // A client library in front of a remote client (fkemu serve) answers a ping with the time
  // the remote client last showed a sign of life (`source`), not with now: the session expires
  // a timeout after the remote client went quiet. Default: now.
  void set_last_seen_source(std::function<Time()> source) { last_seen_source_ = std::move(source); }
  // Whether a watch set by `op` (get_data, exists or get_children) on `path` is still to fire.
  bool watching(std::string_view path, std::string_view op) const;
  // The paths of the watches still to fire, one per watch (sorted).
  std::vector<std::string> watched_paths() const;
  // The watches still to fire, as (op, path) pairs (get_data, exists or get_children).
  std::set<std::pair<std::string, std::string>> watches() const;
  // Forgets the watches on `path` still to fire, those set by get_data and exists (`data`),
  // by get_children (`children`) or both, and with both the persistent ones too: they fire no
  // event (ZooKeeper's removeWatches). With `dry_run`, only counts them (checkWatches). A
  // one-shot registration stays in the system store until an update fires it, and the
  // notification is then dropped, as one for a registration that fired already; a persistent
  // one, which no update removes, is removed from the store in the background.
  size_t forget_watches(std::string_view path, bool data, bool children, bool dry_run);

 private:
  Task<OpResult> write(decltype(WriteRequest::op) request);
  Task<OpResult> read(std::string path, const char* op, bool watch, bool check_acl = true);
  // Waits until every operation issued before `ticket` has been released.
  Task<void> release_in_order(uint64_t ticket);
  std::optional<OpResult> check_path(const std::string& path, bool sequential) const;

  struct Registration {
    std::string path;
    WatchType type = WatchType::Data;
    std::string op;
    // One-shot: the version read. Persistent: the zxid of the last notification it fired in
    // (a notification delivered again is dropped).
    int64_t zxid = 0;
    bool existed = false;  // the node existed when the watch was set
    // A persistent watch's data and children halves, recursive or not (removeWatches takes
    // them one by one; a recursive watch's events are its data half's).
    bool data_half = true;
    bool child_half = true;
    // A persistent watch that a later add_watch on its path replaces: the zxid of that
    // add_watch. It still fires for the updates before it (they come before the add_watch's
    // answer is released), none after; it is removed once that answer is released.
    int64_t replaced_at = -1;
    uint64_t order = 0;  // a persistent watch's place among the session's add_watch calls
    bool persistent() const {
      return type == WatchType::Persistent || type == WatchType::Recursive;
    }
  };
  // Hands a watch event to the listener, or holds it (fire() for a one-shot registration).
  // `acl`: the node's, which the session must be allowed to READ (else the event goes nowhere:
  // a one-shot watch is spent all the same), as ZooKeeper's fix of CVE-2024-23944.
  void emit(const std::string& id, EventType event, const std::string& path, int64_t zxid,
            int64_t trigger, const Acl& acl);
  // Removes registration `id` from the system store: now, or in the background (a persistent
  // one the session forgot, which no update removes).
  Task<void> remove_registration(std::string key, std::string id);
  void drop_registration(const std::string& id, const Registration& reg);
  Task<void> drop_in_background(std::string key, std::string id);
  // One persistent watch per path, as ZooKeeper keeps one mode per path and connection: the
  // add_watch `id`, answered, replaces the others on its path.
  void replace_persistent(const std::string& id);
  // Marks the session's other persistent watches on add_watch `id`'s path replaced from `zxid`.
  void mark_replaced(const std::string& id, int64_t zxid);
  std::map<int64_t, std::string> watch_requests_;  // an add_watch's request -> its id
  Task<std::optional<UserRecord>> read_record(const std::string& path);
  // One read of the user store.
  Task<std::optional<UserRecord>> get_record(const std::string& path, std::string_view step);
  // An update that changes several nodes writes their records one after the other. Having
  // read one of them, the session must not read another in its older state (G4): it notes the
  // update's other paths (catch_up_) and read_record waits for their records to catch up.
  void note_update_paths(const std::string& path, const std::optional<UserRecord>& record);
  // Everything up to `zxid` is fully written (an answer or an event for it arrived).
  void written_up_to(int64_t zxid);
  // Whether a record of update `zxid` must have the update's triggers decoded: its paths are
  // still to be noted, or a registration may be owed its events. A record of a big update
  // (a multi of 1,000 nodes, a close of as many ephemerals) carries them all, and decoding
  // them on every read cost each read the size of the update.
  bool wants_triggers(int64_t zxid) const;
  int64_t written_up_to_ = 0;        // the highest zxid written_up_to() was told
  std::set<int64_t> noted_updates_;  // updates above it whose paths are in catch_up_
  Task<void> wait_for_epoch(const Epoch& epoch);
  // Fires this session's watches on `path` that `record` shows to have been triggered.
  void fire_local(const std::string& path, const std::optional<UserRecord>& record);
  // The event (and zxid) `record` shows registration `reg` to have been triggered by, if any.
  static std::optional<std::pair<EventType, int64_t>> local_event(
      const Registration& reg, const std::optional<UserRecord>& record);
  // Fires this session's watches that the update which last wrote `record` triggered.
  void fire_from_update(const std::optional<UserRecord>& record);
  // `trigger`: the update's trigger that fired it, -1 if the client fired it itself.
  void fire(const std::string& id, EventType event, const std::string& path, int64_t zxid,
            int64_t trigger = -1, const Acl& acl = {});
  // Events go to the listener in zxid order. A read that registers a watch may fire it itself
  // for a change older than events that arrive meanwhile: events are held while such a read
  // runs and released, sorted by zxid, when the last one ends (before its answer; no answer
  // of another operation is released while events are held). Held events of a session that
  // closed meanwhile are dropped, as every event after its close began is.
  void begin_registration() { ++registering_; }
  void end_registration();
  // Events are held while a watch read registers or the client is disconnected (its messages
  // wait, and what reads fire meanwhile must not overtake them).
  bool holding() const { return registering_ > 0 || disconnected_; }
  void release_held();
  Task<Status> reconnect_if_needed();
  void receive(const ClientMessage& message);
  Task<void> reconnect_after(Duration gone);
  void expire_locally();
  Task<void> pong(Time seen);

  Deployment& d_;
  std::string name_;
  bool closed_ = false;
  bool closing_ = false;
  // Tasks spawned and not yet ended (busy()); shared with them, as a task may be destroyed
  // after the session (when the executor goes, at a reset).
  std::shared_ptr<int> background_ = std::make_shared<int>(0);
  Duration timeout_ = 0;
  bool unresponsive_ = false;
  bool disconnected_ = false;
  bool revalidate_ = false;  // after a disconnect: the next operation checks the session first
  std::vector<ClientMessage> held_;  // messages that arrived while disconnected
  std::vector<Time> stopped_answering_;
  int64_t last_event_zxid_ = 0;
  uint64_t next_reg_ = 1;
  std::map<std::string, Registration> registrations_;  // id -> not yet fired
  // The same registrations by path, kept with them by the four functions below: a read that
  // looks for its path's registrations (watching, fire_from_update, forget_watches) costs the
  // log of their number, not their number (setWatches of thousands of paths, each read
  // walking every registration, held a server for minutes).
  std::map<std::string, std::set<std::string>, std::less<>> registration_ids_by_path_;
  std::multiset<int64_t> registration_zxids_;  // their zxids (wants_triggers asks the least)
  void set_registration_zxid(Registration& reg, int64_t zxid);
  Registration& add_registration(const std::string& id, Registration reg);
  std::map<std::string, Registration>::iterator erase_registration(
      std::map<std::string, Registration>::iterator it);
  void erase_registration(const std::string& id);
  void clear_registrations();
  int registering_ = 0;  // watch reads under way
  struct HeldEvent {
    int64_t zxid;
    std::string registration;
    WatchedEvent event;
  };
  std::vector<HeldEvent> held_events_;       // meanwhile
  std::map<std::string, int64_t> catch_up_;  // path -> zxid its record must reach
  using Ids = std::vector<Identity>;
  // Shared: an operation keeps the identities it started with at the cost of a count.
  std::shared_ptr<const Ids> identities_;
  // Which identities decide whether a watch event may be delivered (the session must READ its
  // node): ZooKeeper checks with those its connection has when the change is applied. Each
  // identity change is recorded with the distributor's progress read when it was made (every
  // update applied by then has a zxid at or below it): an event of a later zxid is judged
  // with the identities after that change, one of an earlier zxid with those before it.
  struct AuthChange {
    int64_t horizon = INT64_MAX;  // until the progress is read: no event is after it
    std::shared_ptr<const Ids> ids;
  };
  std::vector<AuthChange> auth_changes_;
  const Ids& identities_for_event(int64_t zxid) const;
  Task<void> note_auth_change(std::shared_ptr<const Ids> before);
  std::shared_ptr<const Ids> first_identities_;  // before any change
  const Ids& ids(const std::shared_ptr<const Ids>& held) const {
    static const Ids none;
    return held ? *held : none;
  }
  std::function<void(const WatchedEvent&)> on_event_;
  std::function<Time()> last_seen_source_;
  Event notified_;
  Event events_out_;     // held events were released
  Time last_ping_ = -1;  // when the last ping came
  int64_t next_req_ = 1;
  uint64_t next_ticket_ = 1;
  uint64_t released_ = 0;
  Event turn_;
  std::map<int64_t, std::unique_ptr<Mailbox<WriteAnswer>>> waiting_;
};

}  // namespace fkemu
