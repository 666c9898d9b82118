#include "core/protocol/client_session.h"

#include <algorithm>

#include "core/model/path.h"
#include "core/protocol/mutants.h"
#include "core/protocol/watch.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

OpResult failed(Code c, std::string msg = {}) {
  OpResult r;
  r.status = Status(c, std::move(msg));
  return r;
}

bool is_node(const std::optional<UserRecord>& record) { return record && record->is_node(); }

int64_t record_zxid(const std::optional<UserRecord>& record) {
  return record ? record->version_zxid() : 0;
}

// The data, stat or children zxid a registration of `type` is set on.
int64_t watched_zxid(const Stat& stat, WatchType type) {
  return type == WatchType::Child ? stat.pzxid : stat.mzxid;
}

}  // namespace

json OpResult::fields() const {
  json f = json::object();
  if (path) f["path"] = *path;
  if (stat) f["stat"] = stat_to_json(*stat);
  if (stat_null) f["stat"] = nullptr;
  if (children) f["children"] = *children;
  if (!results.empty()) {
    // A multi's, per operation: a create's name and stat (as ZooKeeper's create2 in a multi
    // answers), a set_data's stat.
    json rs = json::array();
    for (const OpOutcome& o : results) {
      static constexpr const char* kNames[] = {"create", "delete", "set_data", "check"};
      json one{{"op", kNames[static_cast<int>(o.kind)]}};
      if (o.kind == MultiOpKind::Create && o.path) one["path"] = *o.path;
      if (o.stat) one["stat"] = stat_to_json(*o.stat);
      rs.push_back(std::move(one));
    }
    f["results"] = std::move(rs);
  }
  return f;
}

ClientSession::ClientSession(Deployment& d, std::string name)
    : d_(d),
      name_(std::move(name)),
      notified_(d.ex, "client.notified"),
      events_out_(d.ex, "client.events_out"),
      turn_(d.ex, "client.turn") {}

Task<Status> ClientSession::connect() {
  KvWrite w;
  w.table = kSessionsTable;
  w.key = name_;
  w.kind = KvWrite::Kind::Put;
  SessionRecord fresh;
  fresh.alive = true;
  fresh.timeout_ms = timeout() / kMillisecond;
  fresh.last_seen = d_.ex.now();
  w.item = fresh.to_new_item();
  const KvResult made =
      co_await d_.ex.call("kv.write", "client.connect", 0, [&] { return d_.system.write(w); });
  co_return made.status;
}

ClientSession::Registration& ClientSession::add_registration(const std::string& id,
                                                             Registration reg) {
  if (auto old = registrations_.find(id); old != registrations_.end()) erase_registration(old);
  registration_ids_by_path_[reg.path].insert(id);
  registration_zxids_.insert(reg.zxid);
  Registration& stored = registrations_[id];
  stored = std::move(reg);
  return stored;
}

std::map<std::string, ClientSession::Registration>::iterator ClientSession::erase_registration(
    std::map<std::string, Registration>::iterator it) {
  auto ids = registration_ids_by_path_.find(it->second.path);
  if (ids != registration_ids_by_path_.end() && ids->second.erase(it->first) && ids->second.empty())
    registration_ids_by_path_.erase(ids);
  if (auto z = registration_zxids_.find(it->second.zxid); z != registration_zxids_.end())
    registration_zxids_.erase(z);
  return registrations_.erase(it);
}

void ClientSession::erase_registration(const std::string& id) {
  if (auto it = registrations_.find(id); it != registrations_.end()) erase_registration(it);
}

void ClientSession::clear_registrations() {
  registrations_.clear();
  registration_ids_by_path_.clear();
  registration_zxids_.clear();
}

void ClientSession::set_registration_zxid(Registration& reg, int64_t zxid) {
  if (auto z = registration_zxids_.find(reg.zxid); z != registration_zxids_.end())
    registration_zxids_.erase(z);
  reg.zxid = zxid;
  registration_zxids_.insert(zxid);
}

bool ClientSession::watching(std::string_view path, std::string_view op) const {
  auto ids = registration_ids_by_path_.find(path);
  if (ids == registration_ids_by_path_.end()) return false;
  for (const std::string& id : ids->second)
    if (registrations_.at(id).op == op) return true;
  return false;
}

size_t ClientSession::forget_watches(std::string_view path, bool data, bool children,
                                     bool dry_run) {
  size_t n = 0;
  auto on_path = registration_ids_by_path_.find(path);
  if (on_path == registration_ids_by_path_.end()) return 0;
  const std::set<std::string> ids = on_path->second;  // (a copy: erasing below changes it)
  for (const std::string& key : ids) {
    auto it = registrations_.find(key);
    Registration& reg = it->second;
    // A persistent watch, recursive or not, is a data and a children watch, and each half goes
    // on its own, as on ZooKeeper 3.8 (a recursive watch's children half fires nothing).
    const bool data_part = data && reg.type != WatchType::Child && reg.data_half;
    const bool child_part =
        children && (reg.type == WatchType::Child || (reg.persistent() && reg.child_half));
    if (!(data_part || child_part)) continue;
    ++n;
    if (dry_run) continue;
    if (reg.persistent()) {
      reg.data_half = reg.data_half && !data_part;
      reg.child_half = reg.child_half && !child_part;
      if (reg.data_half || reg.child_half) continue;
    }
    const std::string id = it->first;
    std::erase_if(held_events_, [&id](const HeldEvent& h) { return h.registration == id; });
    if (reg.persistent()) drop_registration(id, reg);
    erase_registration(it);
  }
  return n;
}

std::set<std::pair<std::string, std::string>> ClientSession::watches() const {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& [id, reg] : registrations_) out.emplace(reg.op, reg.path);
  return out;
}

std::vector<std::string> ClientSession::watched_paths() const {
  std::vector<std::string> out;
  for (const auto& [id, reg] : registrations_) out.push_back(reg.path);
  std::sort(out.begin(), out.end());
  return out;
}

void ClientSession::resume(const SessionRecord& record) {
  constexpr int64_t kResumeGap = int64_t{1} << 32;
  if (record.timeout_ms > 0) timeout_ = record.timeout_ms * kMillisecond;
  next_req_ = record.last_req + kResumeGap;
}

std::optional<OpResult> ClientSession::check_path(const std::string& path, bool sequential) const {
  Status s = validate_client_path(path, sequential);
  if (!s.is_ok()) return failed(s.code(), s.message());
  return std::nullopt;
}

Task<void> ClientSession::release_in_order(uint64_t ticket) {
  // An answer may reflect an update whose event is held (by a watch read under way, or in a
  // message that came while the client was disconnected): the events go first.
  while (disconnected_ || (holding() && !held_events_.empty())) co_await events_out_.wait();
  while (released_ + 1 != ticket) co_await turn_.wait();
  released_ = ticket;
  turn_.set();
}

Task<Status> ClientSession::reconnect_if_needed() {
  if ((!unresponsive_ && !revalidate_) || closed_) co_return Status::ok();
  // Reconnecting is a heartbeat answer that only a live session can give; an expiry the
  // heartbeat function decided before it is dropped by the writer (last_seen moved).
  KvWrite w;
  w.table = kSessionsTable;
  w.key = name_;
  w.conditions.push_back(Condition::eq(attr::kAlive, true));
  w.updates = {Update::set(attr::kLastSeen, d_.ex.now())};
  auto r =
      co_await d_.ex.call("kv.write", "client.reconnect", 0, [&] { return d_.system.write(w); });
  if (!r.ok()) {
    expire_locally();
    co_return Status(Code::SessionExpired, "the session expired while disconnected");
  }
  unresponsive_ = false;
  revalidate_ = false;
  co_return Status::ok();
}

void ClientSession::expire_locally() {
  closed_ = true;
  clear_registrations();
  notified_.set();
}

namespace {
// Counts a spawned task of the session down when it ends.
struct Ended {
  std::shared_ptr<int> count;
  ~Ended() { --*count; }
};
}  // namespace

Task<void> ClientSession::pong(Time seen) {
  Ended ended{background_};
  KvWrite w;
  w.table = kSessionsTable;
  w.key = name_;
  w.conditions.push_back(Condition::eq(attr::kAlive, true));
  w.updates = {Update::set(attr::kLastSeen, seen)};
  // ConditionFailed: the session is no longer alive, and its last sign of life no longer matters.
  (void)co_await d_.ex.call("kv.write", "client.pong", 0, [&] { return d_.system.write(w); });
}

void ClientSession::fire(const std::string& id, EventType event, const std::string& path,
                         int64_t zxid, int64_t trigger, const Acl& acl) {
  auto it = registrations_.find(id);
  if (it == registrations_.end() || it->second.persistent()) return;  // fired already
  erase_registration(it);                                             // one-shot
  emit(id, event, path, zxid, trigger, acl);
}

void ClientSession::emit(const std::string& id, EventType event, const std::string& path,
                         int64_t zxid, int64_t trigger, const Acl& acl) {
  if (closed_) return;  // (closing: events of updates before the close still come)
  if (!acl.empty() && !acl_permits(acl, perm::kRead, identities_for_event(zxid))) return;
  WatchedEvent e{event, path, zxid, trigger};
  if (holding()) {
    held_events_.push_back(HeldEvent{zxid, id, std::move(e)});
  } else if (on_event_) {
    on_event_(e);
  }
}

void ClientSession::end_registration() {
  --registering_;
  release_held();
}

void ClientSession::release_held() {
  if (holding()) return;
  std::stable_sort(held_events_.begin(), held_events_.end(),
                   [](const HeldEvent& x, const HeldEvent& y) { return x.zxid < y.zxid; });
  std::vector<HeldEvent> out = std::move(held_events_);
  held_events_.clear();
  if (on_event_ && !closed_)
    for (const HeldEvent& h : out) on_event_(h.event);
  events_out_.set();
}

void ClientSession::deliver(const ClientMessage& message) {
  if (closed_) return;
  if (!disconnected_ && d_.ex.fault("client.disconnect")) {
    // The connection drops for a while (at most 1 s, and a quarter of the session timeout, so
    // that a disconnect alone never expires the session): the service keeps retrying its
    // sends (answers and watch events arrive, in order, when the client is back); pings go
    // unanswered.
    disconnected_ = true;
    const Duration bound = std::min<Duration>(kSecond, timeout() / 4);
    const Duration gone =
        std::max<Duration>(kMillisecond, d_.ex.fault_amount("client.disconnect", bound));
    ++*background_;
    d_.ex.spawn("reconnect:" + name_, reconnect_after(gone));
  }
  if (disconnected_) {
    if (!std::holds_alternative<Ping>(message)) held_.push_back(message);
    return;
  }
  receive(message);
}

Task<void> ClientSession::reconnect_after(Duration gone) {
  Ended ended{background_};
  co_await d_.ex.sleep_keep_alive(gone, "client.disconnected");
  // The session may have expired meanwhile: the next operation asks the service first.
  revalidate_ = true;
  // The messages that came meanwhile, in order; their events and the ones reads fired from
  // the store while the client was away go out together, in zxid order.
  std::vector<ClientMessage> held = std::move(held_);
  held_.clear();
  for (const ClientMessage& m : held) receive(m);
  disconnected_ = false;
  release_held();
  events_out_.set();
}

void ClientSession::receive(const ClientMessage& message) {
  if (const auto* answer = std::get_if<WriteAnswer>(&message)) {
    // Answers to requests already released (redelivered duplicates) find no waiter.
    auto it = waiting_.find(answer->req);
    if (it != waiting_.end()) it->second->push(*answer);
    // An add_watch's answer: from its update on, it replaces the session's persistent watch on
    // the path. Notifications of later updates may arrive before the answer is released, those
    // of earlier ones still do (the answer waits for them): the replaced watch fires for the
    // earlier ones only, until add_watch() removes it.
    if (auto w = watch_requests_.find(answer->req); w != watch_requests_.end()) {
      if (answer->error == Code::Ok) mark_replaced(w->second, answer->zxid);
      watch_requests_.erase(w);
    }
  } else if (const auto* watch = std::get_if<WatchNotification>(&message)) {
    const int64_t zxid = watch->zxid;
    std::vector<std::string> persistent;  // fired in this notification
    for (const FiredEvent& e : watch->events) {
      auto it = registrations_.find(e.id);
      if (it == registrations_.end() || !it->second.persistent()) {
        fire(e.id, e.event, e.path, zxid, e.trigger, e.acl);
      } else if (const int64_t until = it->second.replaced_at; until >= 0 && zxid > until) {
        continue;                           // replaced by an add_watch before this update
      } else if (zxid > it->second.zxid) {  // (not a notification delivered again)
        // (an event of a half that was removed is not, but the notification counts)
        const Registration& reg = it->second;
        const bool wanted = reg.type == WatchType::Recursive            ? reg.data_half
                            : e.event == EventType::NodeChildrenChanged ? reg.child_half
                            : e.event == EventType::NodeDeleted ? reg.data_half || reg.child_half
                                                                : reg.data_half;
        if (wanted) emit(e.id, e.event, e.path, zxid, e.trigger, e.acl);
        persistent.push_back(e.id);
        if (FKEMU_MUTANT(d_.config, "persistent.removed_on_fire")) erase_registration(it);
      }
    }
    for (const std::string& id : persistent)
      if (auto it = registrations_.find(id); it != registrations_.end())
        set_registration_zxid(it->second, zxid);
    last_event_zxid_ = std::max(last_event_zxid_, zxid);
    written_up_to(zxid);  // events are sent once their update's records are all written
    notified_.set();
  } else {
    if (!unresponsive_ && !closed_ && d_.ex.fault("session.unresponsive")) {
      unresponsive_ = true;
      stopped_answering_.push_back(d_.ex.now());
    }
    if (unresponsive_ || closed_) return;
    // Pings that did not come (a heartbeat instance died) may have left the session overdue
    // and expired: the next operation asks the service first.
    if (last_ping_ >= 0 && d_.ex.now() - last_ping_ > d_.config.heartbeat_period * 3 / 2)
      revalidate_ = true;
    last_ping_ = d_.ex.now();
    const Time seen = last_seen_source_ ? last_seen_source_() : d_.ex.now();
    // A remote client quiet for a heartbeat period may be expired soon: its next operation
    // asks the service first.
    if (d_.ex.now() - seen > d_.config.heartbeat_period) revalidate_ = true;
    ++*background_;
    d_.ex.spawn("pong:" + name_, pong(seen));
  }
}

Task<void> ClientSession::wait_for_epoch(const Epoch& epoch) {
  if (FKEMU_MUTANT(d_.config, "reads.not_stalled")) co_return;
  auto owed = [&] {
    if (closed_) return false;
    for (const EpochEntry& e : epoch) {
      if (e.zxid <= last_event_zxid_) continue;
      for (const auto& s : e.sessions)
        if (s == name_) return true;
    }
    return false;
  };
  while (owed()) co_await notified_.wait();
}

void ClientSession::fire_from_update(const std::optional<UserRecord>& record) {
  if (!record || !record->update) return;
  const UpdateTriggers& u = *record->update;
  const int64_t zxid = u.zxid;
  for (size_t index = 0; index < u.triggers.size(); ++index) {
    const Trigger& trig = u.triggers[index];
    const std::string& path = trig.path;
    auto on_path = registration_ids_by_path_.find(path);
    if (on_path == registration_ids_by_path_.end()) continue;
    std::vector<std::string> ids;
    for (const std::string& id : on_path->second) {
      const Registration& reg = registrations_.at(id);
      if (reg.zxid >= zxid) continue;
      for (WatchType t : trig.types)
        if (t == reg.type) ids.push_back(id);
    }
    for (const auto& id : ids) {
      const Registration& reg = registrations_.at(id);
      fire(id, event_for(reg.type, reg.existed, reg.zxid, trig), path, zxid,
           static_cast<int64_t>(index), trig.acl);
    }
  }
}

std::optional<std::pair<EventType, int64_t>> ClientSession::local_event(
    const Registration& reg, const std::optional<UserRecord>& record) {
  const bool now_node = is_node(record);
  const int64_t tomb = record && !now_node ? *record->tombstone : 0;
  if (reg.type == WatchType::Data && !reg.existed) {
    if (now_node) return std::make_pair(EventType::NodeCreated, record->stat.czxid);
    if (tomb > reg.zxid)  // created, deleted again
      return std::make_pair(EventType::NodeCreated, tomb);
    return std::nullopt;
  }
  if (!now_node) return std::make_pair(EventType::NodeDeleted, tomb);
  const Stat& stat = record->stat;
  if (stat.czxid > reg.zxid)  // deleted and created again
    return std::make_pair(EventType::NodeDeleted, stat.czxid);
  if (reg.type == WatchType::Data && stat.mzxid > reg.zxid)
    return std::make_pair(EventType::NodeDataChanged, stat.mzxid);
  if (reg.type == WatchType::Child && stat.pzxid > reg.zxid)
    return std::make_pair(EventType::NodeChildrenChanged, stat.pzxid);
  return std::nullopt;
}

void ClientSession::fire_local(const std::string& path, const std::optional<UserRecord>& record) {
  std::vector<std::pair<std::string, Registration>> mine;
  if (auto on_path = registration_ids_by_path_.find(path);
      on_path != registration_ids_by_path_.end())
    for (const std::string& id : on_path->second)
      if (const Registration& reg = registrations_.at(id); !reg.persistent())
        mine.emplace_back(id, reg);
  for (const auto& [id, reg] : mine)
    if (auto e = local_event(reg, record))
      fire(id, e->first, path, e->second, -1, record && record->is_node() ? record->acl : Acl{});
}

void ClientSession::note_update_paths(const std::string& path,
                                      const std::optional<UserRecord>& record) {
  if (!record || !record->update) return;
  const int64_t zxid = record->update->zxid;
  // Its paths are noted already, or its records are all written: nothing to note.
  if (zxid <= written_up_to_ || !noted_updates_.insert(zxid).second) return;
  for (const Trigger& trig : record->update->triggers) {
    const std::string& p = trig.path;
    if (p == path) continue;
    int64_t& need = catch_up_[p];
    need = std::max(need, zxid);
  }
}

void ClientSession::written_up_to(int64_t zxid) {
  std::erase_if(catch_up_, [zxid](const auto& e) { return e.second <= zxid; });
  written_up_to_ = std::max(written_up_to_, zxid);
  noted_updates_.erase(noted_updates_.begin(), noted_updates_.upper_bound(written_up_to_));
}

bool ClientSession::wants_triggers(int64_t zxid) const {
  if (zxid > written_up_to_ && !noted_updates_.count(zxid)) return true;
  // fire_from_update may owe a registration older than the update an event.
  return !registration_zxids_.empty() && *registration_zxids_.begin() < zxid;
}

Task<std::optional<UserRecord>> ClientSession::get_record(const std::string& path,
                                                          std::string_view step) {
  auto object = co_await d_.ex.call("user.get", step, d_.user.data_bytes(path),
                                    [&] { return d_.user.get(path); });
  std::optional<UserRecord> record;
  if (object)
    record =
        UserRecord::from_object(*object, [this](int64_t zxid) { return wants_triggers(zxid); });
  co_return record;
}

Task<std::optional<UserRecord>> ClientSession::read_record(const std::string& path) {
  std::optional<UserRecord> record;
  Duration pause = kMillisecond;
  for (;;) {
    record = co_await get_record(path, "client.read");
    auto need = catch_up_.find(path);
    if (need == catch_up_.end() || FKEMU_MUTANT(d_.config, "reads.no_catch_up")) break;
    if (record_zxid(record) >= need->second) {
      catch_up_.erase(need);
      break;
    }
    if (closing_ || closed_) break;
    // The distributor is writing the rest of the update now (or will, once its message is
    // delivered again): poll, backing off up to 100 ms.
    co_await d_.ex.sleep(pause, "client.catch_up");
    pause = std::min<Duration>(2 * pause, 100 * kMillisecond);
  }
  note_update_paths(path, record);
  if (record) co_await wait_for_epoch(record->epoch);
  fire_from_update(record);
  fire_local(path, record);
  co_return record;
}

Task<OpResult> ClientSession::write(decltype(WriteRequest::op) op) {
  const uint64_t ticket = next_ticket_++;
  const std::shared_ptr<const Ids> auth = identities_;  // as the operation starts
  Status live = co_await reconnect_if_needed();
  if (closed_ || !live.is_ok()) {
    co_await release_in_order(ticket);
    co_return failed(Code::SessionExpired);
  }
  const int64_t req = next_req_++;
  // (member by member: GCC 12 destroys parts of a braced aggregate in a coroutine twice)
  WriteRequest request;
  request.session = name_;
  request.req_no = req;
  request.op = std::move(op);
  request.auth = ids(auth);
  if (const auto* w = std::get_if<AddWatchRequest>(&request.op)) watch_requests_[req] = w->id;
  auto& box = waiting_[req];
  box = std::make_unique<Mailbox<WriteAnswer>>(d_.ex, "client.answer");
  Mailbox<WriteAnswer>* inbox = box.get();
  const std::string group = d_.config.writer_group_per_session ? name_ : std::string("writes");
  const std::string dedup = name_ + ":" + std::to_string(req);
  const size_t bytes = request.data_bytes();
  auto send = [&] {
    return d_.writer_queue.send(group, dedup, request.to_message(),
                                SendMeta{d_.ex.call_began(), bytes});
  };
  auto sent = co_await d_.ex.call("client.send", bytes, send);
  if (sent.is_ok() && d_.ex.fault("send.retry"))
    sent = co_await d_.ex.call("client.send", bytes, send);
  if (!sent.is_ok()) {
    waiting_.erase(req);
    co_await release_in_order(ticket);
    co_return failed(Code::ConnectionLoss, sent.status().message());
  }
  const WriteAnswer answer = co_await inbox->receive();
  waiting_.erase(req);
  // The distributor answers once every update up to this one is written.
  if (answer.error == Code::Ok) written_up_to(answer.zxid);
  co_await wait_for_epoch(answer.epoch);
  co_await release_in_order(ticket);
  if (answer.error != Code::Ok) {
    if (answer.error == Code::SessionExpired) expire_locally();
    OpResult refused = failed(answer.error);
    refused.failed_op = answer.failed_op;
    co_return refused;
  }
  OpResult r;
  r.path = answer.path;
  r.stat = answer.stat;
  r.results = answer.results;
  r.zxid = answer.zxid;
  co_return r;
}

Task<OpResult> ClientSession::multi(std::vector<MultiOp> ops) {
  // Every record the update writes names every path it changed (G4's catch-up), so a multi's
  // cost grows with the square of its size: it is bounded, as its data is (docs/decisions.md).
  if (ops.size() > kMaxMultiOps)
    co_return failed(Code::MarshallingError, "a multi of " + std::to_string(ops.size()) +
                                                 " operations is over the limit of " +
                                                 std::to_string(kMaxMultiOps));
  // Each operation is checked before anything is sent, as ZooKeeper's client checks them: a
  // bad one refuses the whole multi, naming it.
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto* c = std::get_if<CreateRequest>(&ops[i]);
    std::optional<OpResult> bad = check_path(path_of(ops[i]), c && c->sequential);
    if (!bad && std::holds_alternative<DeleteRequest>(ops[i]) && path_of(ops[i]) == "/")
      bad = failed(Code::BadArguments, "cannot delete the root");
    const Bytes* data = c ? &c->data : nullptr;
    if (const auto* sd = std::get_if<SetDataRequest>(&ops[i])) data = &sd->data;
    if (!bad && data && data->size() > d_.config.max_data_bytes)
      bad = failed(Code::MarshallingError,
                   "data of " + std::to_string(data->size()) + " bytes is over the 1 MiB limit");
    if (bad) {
      bad->failed_op = static_cast<int>(i);
      co_return *bad;
    }
  }
  if (ops.empty()) {
    // Nothing to apply: answered at once, in its place among the session's answers, and
    // SessionExpired once the session is gone, as ZooKeeper's server answers it.
    const uint64_t ticket = next_ticket_++;
    const Status live = co_await reconnect_if_needed();
    OpResult r = closed_ || !live.is_ok() ? failed(Code::SessionExpired) : OpResult{};
    co_await release_in_order(ticket);
    co_return r;
  }
  MultiRequest request;
  request.ops = std::move(ops);
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::create(std::string path, Bytes data, bool ephemeral, bool sequential,
                                     bool container, std::optional<Acl> acl,
                                     std::optional<int64_t> ttl_ms) {
  if (auto bad = check_path(path, sequential)) co_return *bad;
  if (data.size() > d_.config.max_data_bytes)
    co_return failed(Code::MarshallingError,
                     "data of " + std::to_string(data.size()) + " bytes is over the 1 MiB limit");
  CreateRequest request;
  request.path = std::move(path);
  request.data = std::move(data);
  request.ephemeral = ephemeral;
  request.sequential = sequential;
  request.container = container;
  request.ttl_ms = ttl_ms;
  request.acl = std::move(acl);
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::set_data(std::string path, Bytes data, int version) {
  if (auto bad = check_path(path, false)) co_return *bad;
  if (data.size() > d_.config.max_data_bytes)
    co_return failed(Code::MarshallingError,
                     "data of " + std::to_string(data.size()) + " bytes is over the 1 MiB limit");
  SetDataRequest request;
  request.path = std::move(path);
  request.data = std::move(data);
  request.version = version;
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::remove(std::string path, int version) {
  if (auto bad = check_path(path, false)) co_return *bad;
  if (path == "/") co_return failed(Code::BadArguments, "cannot delete the root");
  DeleteRequest request;
  request.path = std::move(path);
  request.version = version;
  co_return co_await write(std::move(request));
}

Task<OpResult> ClientSession::set_acl(std::string path, Acl acl, int version) {
  if (auto bad = check_path(path, false)) co_return *bad;
  SetAclRequest request;
  request.path = std::move(path);
  request.acl = std::move(acl);
  request.version = version;
  co_return co_await write(std::move(request));
}

const ClientSession::Ids& ClientSession::identities_for_event(int64_t zxid) const {
  static const Ids kNone;
  const std::shared_ptr<const Ids>* in_effect = &first_identities_;
  for (const AuthChange& c : auth_changes_)
    if (c.horizon < zxid) in_effect = &c.ids;
  return *in_effect ? **in_effect : kNone;
}

// Records an identity change (identities_ is already the new set) with its horizon: the
// distributor's progress now.
Task<void> ClientSession::note_auth_change(std::shared_ptr<const Ids> before) {
  // (An addauth that adds nothing new changes nothing: the list grows only with identities.)
  if (before && *before == *identities_) co_return;
  if (auth_changes_.empty()) first_identities_ = std::move(before);
  const size_t k = auth_changes_.size();
  auth_changes_.push_back(AuthChange{INT64_MAX, identities_});
  auto item = co_await d_.ex.call("kv.get", "client.auth_horizon", 0,
                                  [&] { return d_.system.get(kProgressTable, "distributor"); });
  auth_changes_[k].horizon = item ? Progress::from_item(*item).last_zxid : 0;
}

Task<OpResult> ClientSession::use_identities(std::vector<Identity> ids) {
  std::shared_ptr<const Ids> before = identities_;
  identities_ = std::make_shared<const Ids>(std::move(ids));
  co_await note_auth_change(std::move(before));
  co_return OpResult{};
}

Task<OpResult> ClientSession::add_identities(std::vector<Identity> added) {
  Ids now = identities();
  for (Identity& id : added)
    if (std::find(now.begin(), now.end(), id) == now.end()) now.push_back(std::move(id));
  std::shared_ptr<const Ids> before = identities_;
  identities_ = std::make_shared<const Ids>(std::move(now));
  co_await note_auth_change(std::move(before));
  co_return OpResult{};
}

Task<OpResult> ClientSession::add_watch(std::string path, bool recursive) {
  // The path is not checked, as ZooKeeper's server does not check it: a watch on a path no
  // node can have ("a", "/a/") never fires.
  // Registered before the request goes: the distributor registers it with the update, so an
  // event of a later update may come before the answer does (none of an earlier one can).
  const uint64_t order = next_reg_++;
  const std::string id = name_ + ":w" + std::to_string(order);
  Registration added;
  added.order = order;
  added.path = path;
  added.type = recursive ? WatchType::Recursive : WatchType::Persistent;
  added.op = recursive ? "recursive" : "persistent";
  added.existed = true;
  add_registration(id, std::move(added));
  AddWatchRequest request;
  request.path = std::move(path);
  request.recursive = recursive;
  request.id = id;
  OpResult r = co_await write(std::move(request));
  std::erase_if(watch_requests_, [&id](const auto& w) { return w.second == id; });
  if (!r.status.is_ok()) {
    erase_registration(id);
  } else {
    replace_persistent(id);
  }
  co_return r;
}

void ClientSession::mark_replaced(const std::string& id, int64_t zxid) {
  auto added = registrations_.find(id);
  if (added == registrations_.end()) return;
  for (auto& [other, reg] : registrations_)
    if (other != id && reg.path == added->second.path && reg.persistent() &&
        reg.order < added->second.order && (reg.replaced_at < 0 || reg.replaced_at > zxid))
      reg.replaced_at = zxid;
}

void ClientSession::replace_persistent(const std::string& id) {
  auto added = registrations_.find(id);
  if (added == registrations_.end()) return;
  const std::string path = added->second.path;
  for (auto it = registrations_.begin(); it != registrations_.end();) {
    if (it->first == id || it->second.path != path || !it->second.persistent() ||
        it->second.order > added->second.order) {
      ++it;
      continue;
    }
    drop_registration(it->first, it->second);
    it = erase_registration(it);
  }
}

Task<void> ClientSession::remove_registration(std::string key, std::string id) {
  co_await remove_registrations_where(
      d_, key, [&id](const Value& reg) { return WatchRegistration::id_of(reg) == id; });
}

void ClientSession::drop_registration(const std::string& id, const Registration& reg) {
  ++*background_;
  d_.ex.spawn("unwatch:" + name_, drop_in_background(watch_key(reg.path, reg.type), id));
}

Task<void> ClientSession::drop_in_background(std::string key, std::string id) {
  Ended ended{background_};
  co_await remove_registration(std::move(key), std::move(id));
}

Task<OpResult> ClientSession::get_acl(std::string path) {
  return read(std::move(path), "get_acl", false);
}

Task<OpResult> ClientSession::close() {
  if (closed_) co_return OpResult{};  // closing a closed session does nothing, as in ZooKeeper
  closing_ = true;
  CloseRequest request;
  OpResult r = co_await write(std::move(request));
  closed_ = true;
  clear_registrations();
  if (r.status.code() == Code::SessionExpired) co_return OpResult{};
  co_return r;
}

Task<OpResult> ClientSession::read(std::string path, const char* op, bool watch, bool check_acl) {
  const uint64_t ticket = next_ticket_++;
  const std::shared_ptr<const Ids> auth = identities_;  // as the operation starts
  auto finish = [&](OpResult r) -> Task<OpResult> {
    co_await release_in_order(ticket);
    co_return r;
  };
  if (auto bad = check_path(path, false)) co_return co_await finish(*bad);
  Status live = co_await reconnect_if_needed();
  if (closed_ || !live.is_ok()) co_return co_await finish(failed(Code::SessionExpired));
  const std::string_view which(op);
  if (watch) begin_registration();
  std::optional<UserRecord> record = co_await read_record(path);
  bool exists = is_node(record);
  // ZooKeeper checks the node's ACL once it has found it, before it sets a watch: READ for
  // get_data and get_children, READ or ADMIN for get_acl, nothing for exists (decision 50).
  const int32_t wanted = which == "exists"    ? 0
                         : which == "get_acl" ? perm::kRead | perm::kAdmin
                                              : perm::kRead;
  auto forbidden = [&](const std::optional<UserRecord>& rec) {
    return is_node(rec) && check_acl && wanted != 0 && !acl_permits(rec->acl, wanted, ids(auth)) &&
           !(FKEMU_MUTANT(d_.config, "acl.reads_unchecked") && which != "get_acl");
  };
  if (forbidden(record)) {
    if (watch) end_registration();
    co_return co_await finish(failed(Code::NoAuth));
  }

  // A registration is set on the version read. If the node changed before it was registered,
  // the changes in between may be several, and the first of them (whose event ZooKeeper fires)
  // is not known from the record: the registration is withdrawn and the read is done again,
  // later (a few times at most; then the record's own change fires it, as the best known).
  constexpr int kRegisterAttempts = 4;
  for (int attempt = 1; watch && (exists || which == "exists"); ++attempt) {
    Registration reg;
    reg.path = path;
    reg.type = which == "get_children" ? WatchType::Child : WatchType::Data;
    reg.op = op;
    reg.existed = exists;
    if (exists) {
      reg.zxid = watched_zxid(record->stat, reg.type);
    } else if (record) {
      reg.zxid = *record->tombstone;
    }
    const std::string id = name_ + ":w" + std::to_string(next_reg_++);
    std::vector<KvWrite> ws(2);
    KvWrite& w = ws[0];
    w.table = kWatchesTable;
    w.key = watch_key(path, reg.type);
    WatchRegistration stored;
    stored.id = id;
    stored.session = name_;
    stored.zxid = reg.zxid;
    stored.op = op;
    stored.existed = exists;
    w.updates = {Update::append(attr::kRegs, Value(ValueList{stored.to_value()})),
                 Update::add(attr::kVer, 1)};
    // The session remembers where it registered, so that its close can remove them.
    ws[1].table = kSessionsTable;
    ws[1].key = name_;
    ws[1].updates = {Update::append(attr::kWatchKeys, Value::strings({w.key}))};
    add_registration(id, reg);
    // Appends without conditions to lists the protocol keeps: nothing to fail on.
    (void)co_await d_.ex.call("kv.transact", "client.register_watch", 0,
                              [&] { return d_.system.transact(ws); });
    // Read again: a change between the first read and the registration fires the watch now.
    std::optional<UserRecord> again = co_await get_record(path, "client.read_again");
    // Having seen this record, later reads must not see the update's other records older.
    note_update_paths(path, again);
    // Events owed for earlier updates come first: events arrive in zxid order.
    if (again) co_await wait_for_epoch(again->epoch);
    if (!local_event(reg, again) || attempt >= kRegisterAttempts) {
      fire_from_update(again);
      fire_local(path, again);
      break;
    }
    // Withdrawn: its event, if one came meanwhile, was held and goes; later ones are dropped.
    erase_registration(id);
    std::erase_if(held_events_, [&id](const HeldEvent& h) { return h.registration == id; });
    co_await remove_registration(watch_key(path, reg.type), id);
    record = std::move(again);
    exists = is_node(record);
    fire_from_update(record);
    fire_local(path, record);
    // The node read again may have an ACL the session may no longer read (a setACL between the
    // reads): answered from it, the read is checked against it, as ZooKeeper checks the node it
    // answers from (found by an outside review).
    if (forbidden(record)) {
      end_registration();
      co_return co_await finish(failed(Code::NoAuth));
    }
  }
  if (watch) end_registration();
  // The session stopped answering pings (or pings went missing) while the read ran: it may have
  // been expired meanwhile, and the record may show its own close. A read pending when the
  // session expired answers SessionExpired, as in ZooKeeper.
  if (unresponsive_ || revalidate_) {
    auto item = co_await d_.ex.call("kv.get", "client.check_session", 0,
                                    [&] { return d_.system.get(kSessionsTable, name_); });
    if (!item || !SessionRecord::from_item(*item).alive) {
      expire_locally();
      co_return co_await finish(failed(Code::SessionExpired));
    }
  }

  OpResult r;
  if (!exists) {
    if (which == "exists") {
      r.stat_null = true;
    } else {
      r = failed(Code::NoNode);
    }
    co_return co_await finish(std::move(r));
  }
  r.stat = record->stat;
  if (which == "get_data") {
    r.data = record->data;
    r.has_data = true;
  } else if (which == "get_children") {
    std::vector<std::string> children = std::move(record->children);
    std::sort(children.begin(), children.end());
    r.children = std::move(children);
  } else if (which == "get_acl") {
    // (Without ADMIN a digest's hash is hidden, as ZooKeeper hides it.)
    r.acl = acl_as_read(record->acl, acl_permits(record->acl, perm::kAdmin, ids(auth)));
  }
  co_return co_await finish(std::move(r));
}

Task<OpResult> ClientSession::get_data(std::string path, bool watch) {
  return read(std::move(path), "get_data", watch);
}
Task<OpResult> ClientSession::exists(std::string path, bool watch) {
  return read(std::move(path), "exists", watch);
}
Task<OpResult> ClientSession::get_children(std::string path, bool watch, bool check_acl) {
  return read(std::move(path), "get_children", watch, check_acl);
}
Task<OpResult> ClientSession::rewatch(std::string path, const char* op) {
  return read(std::move(path), op, true, /*check_acl=*/false);
}

}  // namespace fkemu
