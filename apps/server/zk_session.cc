#include "apps/server/zk_session.h"

#include <algorithm>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "apps/server/api_types.h"
#include "apps/server/executor_loop.h"
#include "apps/server/jute.h"
#include "core/model/path.h"
#include "core/protocol/records.h"
#include "core/text/base64.h"
#include "emulator/digest.h"

namespace fkemu {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using jute::OpCode;

namespace {

// The version four-letter words report: ZooKeeper's, which clients parse (kazoo's
// server_version), then what it is.
constexpr const char* kVersion = "3.8.0-fkemu (FaaSKeeper semantics), built on fkemu";

constexpr int32_t kErrOk = 0;
constexpr int32_t kErrUnimplemented = static_cast<int32_t>(Code::Unimplemented);
constexpr int32_t kErrSessionExpired = static_cast<int32_t>(Code::SessionExpired);
constexpr int32_t kErrNoNode = static_cast<int32_t>(Code::NoNode);
constexpr int32_t kErrAuthFailed = -115;
constexpr int32_t kErrNoWatcher = -121;
constexpr int32_t kErrRuntimeInconsistency = -2;
constexpr int32_t kErrBadArguments = static_cast<int32_t>(Code::BadArguments);
constexpr int32_t kErrReconfigDisabled = -123;
constexpr int32_t kErrMarshalling = static_cast<int32_t>(Code::MarshallingError);

std::string hex64(int64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(v)));
  return buf;
}

std::string session_name(int64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "z%016llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(id)));
  return buf;
}

int32_t event_code(EventType e) {
  switch (e) {
    case EventType::NodeCreated:
      return 1;
    case EventType::NodeDeleted:
      return 2;
    case EventType::NodeDataChanged:
      return 3;
    case EventType::NodeChildrenChanged:
      return 4;
  }
  return 0;
}

std::string event_frame(EventType type, const std::string& path, int64_t zxid) {
  jute::Writer w;
  w.i32(jute::kNotificationXid);
  w.i64(zxid);
  w.i32(kErrOk);
  w.i32(event_code(type));
  w.i32(jute::kSyncConnected);
  w.buffer(path);
  return w.frame();
}

// A request's data: null (length -1) is ZooKeeper's null data, which reads back as null.
Bytes data_of(std::optional<std::string> buffer) {
  return buffer ? Bytes(std::move(*buffer)) : Bytes::null();
}
void write_data(jute::Writer& w, const Bytes& data) {
  if (data.is_null()) {
    w.null_buffer();
  } else {
    w.buffer(data.view());
  }
}

// A stat as ZooKeeper's clients read it: times since the Unix epoch, the owner's 64-bit id.
void write_stat(jute::Writer& w, const Stat& stat, int64_t epoch_offset_ms) {
  Stat s = stat;
  s.ctime += epoch_offset_ms;
  s.mtime += epoch_offset_ms;
  w.stat(s, s.ephemeral_owner ? zookeeper_session_id(*s.ephemeral_owner) : 0);
}

// Whether `word` is a four-letter word of ZooKeeper's (the first four bytes of a connection).
bool is_four_letter_word(std::string_view word) {
  static const std::set<std::string_view> words = {
      "ruok", "srvr", "stat", "envi", "conf", "cons", "mntr", "wchs", "dump", "reqs",
      "crst", "srst", "dirs", "wchc", "wchp", "gtmk", "stmk", "isro", "hash"};
  return words.count(word) > 0;
}

}  // namespace

int64_t ZkServerState::tick_ms() const {
  return std::max<int64_t>(1, config.heartbeat_period / kMillisecond);
}

int64_t ZkServerState::last_zxid() const {
  if (!loop.built()) return 0;
  const auto item = loop.service().system_store().get(kProgressTable, "distributor");
  return item ? Progress::from_item(*item).last_zxid : 0;
}

nlohmann::json ZkServerState::counters() const {
  nlohmann::json unimpl = nlohmann::json::object();
  for (const auto& [op, n] : unimplemented) unimpl[op] = n;
  size_t live = 0;
  for (const auto& w : open) live += w.expired() ? 0 : 1;
  return nlohmann::json{{"connections_accepted", connections_accepted},
                        {"connections_open", live},
                        {"packets_received", packets_received},
                        {"packets_sent", packets_sent},
                        {"malformed_frames", malformed},
                        {"unimplemented", unimpl}};
}

int64_t zookeeper_session_id(std::string_view name) {
  if (name.size() == 17 && name[0] == 'z' &&
      name.find_first_not_of("0123456789abcdef", 1) == std::string_view::npos)
    return static_cast<int64_t>(std::stoull(std::string(name.substr(1)), nullptr, 16));
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h | 1);
}

ZkSession::ZkSession(tcp::socket socket, ZkServerState& server, ConnectionSlot slot)
    : socket_(std::move(socket)),
      handshake_timer_(socket_.get_executor()),
      server_(server),
      slot_(std::move(slot)) {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(tcp::no_delay(true), ec);
}

ZkSession::~ZkSession() = default;

void ZkSession::start() {
  ++server_.connections_accepted;
  std::erase_if(server_.open, [](const std::weak_ptr<ZkSession>& w) { return w.expired(); });
  server_.open.push_back(weak_from_this());
  // A connection that sends no ConnectRequest (nor a four-letter word) within 10 s is closed,
  // as ZooKeeper closes one, so that idle connections cannot hold every slot.
  handshake_timer_.expires_after(std::chrono::seconds(10));
  handshake_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->remote_ || self->closing_) return;
    self->server_.log.line("ZooKeeper client " + self->peer_ +
                           ": no ConnectRequest within 10 s; the connection is closed");
    self->close();
  });
  read_length();
}

void ZkSession::read_length() {
  reading_ = true;
  header_.resize(4);
  net::async_read(
      socket_, net::buffer(header_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        if (ec) return self->close();
        if (self->closing_) return;  // closing after the answers due: read nothing more
        if (self->first_ && is_four_letter_word(self->header_))
          return self->four_letter(self->header_);
        const auto* b = reinterpret_cast<const unsigned char*>(self->header_.data());
        const int64_t n =
            (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
        if (n <= 0 || static_cast<size_t>(n) > self->server_.max_frame_bytes)
          return self->fail("a frame of " + std::to_string(n) + " bytes (the limit is " +
                            std::to_string(self->server_.max_frame_bytes) + ")");
        self->read_body(static_cast<size_t>(n));
      });
}

void ZkSession::read_body(size_t n) {
  reading_ = true;
  body_.resize(n);
  net::async_read(socket_, net::buffer(body_),
                  [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                    self->reading_ = false;
                    if (ec) return self->close();
                    if (self->closing_) return;  // closing after the answers due: read nothing more
                    ++self->received_;
                    ++self->server_.packets_received;
                    self->on_frame(self->body_);
                  });
}

void ZkSession::on_frame(const std::string& body) {
  if (first_) {
    first_ = false;
    return on_connect(body);  // reads on once the session is there
  }
  on_request(body);
  read_more();
}

// Back pressure: a client with too many requests unanswered, or too many answer bytes it has
// not read, is not read from until they drain (ZooKeeper's server throttles the same way), so
// that a client that pipelines without reading cannot grow the server's memory without bound.
bool ZkSession::too_busy() const {
  return slots_.size() >= kMaxOutstanding || out_bytes_ >= kMaxUnsentBytes;
}

void ZkSession::read_more() {
  if (closing_ || reading_) return;
  if (too_busy()) {
    paused_ = true;
    return;
  }
  paused_ = false;
  read_length();
}

void ZkSession::fail(const std::string& why) {
  ++server_.malformed;
  server_.log.line("ZooKeeper client " + peer_ + ": " + why + "; the connection is closed");
  close();
}

void ZkSession::close() {
  if (closing_ && !socket_.is_open()) return;
  closing_ = true;
  handshake_timer_.cancel();
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void ZkSession::close_after_writes() {
  closing_ = true;  // reads stop; the answers still to come go out first
  close_when_written_ = true;
  close_if_done();
}

// --- The session --------------------------------------------------------------------------

void ZkSession::on_connect(const std::string& body) {
  jute::Reader in(body);
  (void)in.i32();  // the protocol version: 0
  const int64_t last_zxid_seen = in.i64();
  int32_t timeout_ms = in.i32();
  const int64_t session_id = in.i64();
  const std::string password = in.buffer().value_or(std::string());
  // readOnly: a standalone server serves it as usual; its answer has the flag if it was asked.
  read_only_flag_ = in.left() > 0;
  if (read_only_flag_) (void)in.boolean();
  if (!in.ok()) return fail("a malformed ConnectRequest: " + in.error());
  if (!server_.loop.built()) return close();
  const int64_t zxid = server_.last_zxid();
  client_zxid_ = last_zxid_seen;
  if (last_zxid_seen > zxid)
    return fail("the client has seen zxid " + hex64(last_zxid_seen) + ", beyond this server's " +
                hex64(zxid));
  timeout_ms = static_cast<int32_t>(
      std::clamp<int64_t>(timeout_ms, server_.min_timeout_ms(), server_.max_timeout_ms()));
  if (session_id != 0) {
    const std::string name = session_name(session_id);
    auto r = server_.sessions.find(name);
    // A server restarted on its state file takes up the sessions the state holds.
    if (!r) r = server_.sessions.recover(name, to_hex(password));
    bool alive = r && r->zookeeper && r->connected && !r->client->closed() &&
                 constant_time_equal(to_hex(password), r->secret);
    if (alive) {
      const auto item = server_.loop.service().system_store().get(kSessionsTable, name);
      alive = item && SessionRecord::from_item(*item).alive;
    }
    if (!alive) return refuse_session();
    // The session moves to this connection; the one it had (if still open) is closed.
    for (auto& w : r->sockets)
      if (auto s = w.lock(); s && s.get() != this) s->close();
    server_.sessions.seen(*r);
    return connected(r, static_cast<int32_t>(r->client->timeout() / kMillisecond));
  }
  if (server_.sessions.full()) return fail("the server holds the most sessions allowed");
  // The connection waits for its session, reading nothing meanwhile: the callback holds it.
  auto r = server_.sessions.open(
      [self = shared_from_this(), timeout_ms](const std::string& id, const std::string&,
                                              Status st) {
        auto held = self->server_.sessions.find(id);
        if (!st.is_ok() || !held) return self->fail("cannot open a session: " + st.message());
        self->connected(held, timeout_ms);
      },
      /*zookeeper=*/true, timeout_ms * kMillisecond);
  remote_ = r;  // until connected(): a close before then leaves it to expire
}

void ZkSession::connected(const std::shared_ptr<RemoteSession>& r, int32_t timeout_ms) {
  remote_ = r;
  timeout_ms_ = timeout_ms;
  last_zxid_ = std::max(last_zxid_, client_zxid_);
  jute::Writer w;
  w.i32(0);  // protocol version
  w.i32(timeout_ms);
  w.i64(zookeeper_session_id(r->id));
  w.buffer(from_hex(r->secret));
  if (read_only_flag_) w.boolean(false);  // not a read-only server
  write(w.frame());
  if (closing_) return;
  server_.sessions.attach(*r, shared_from_this());
  // A connection's first identity is its address (ZooKeeper's ip provider); a client adds
  // its digest again after a reconnect, as ZooKeeper's clients do.
  identities_ = {Identity{"ip", peer_host()}};
  then("identities", r->client->use_identities(identities_), [](const OpResult&) {});
  read_more();
}

// ZooKeeper's answer to a session it does not know (expired, closed, or the wrong password):
// a timeout of 0, then the connection closes; the client reports the session expired.
void ZkSession::refuse_session() {
  jute::Writer w;
  w.i32(0);
  w.i32(0);
  w.i64(0);
  w.buffer(std::string(16, '\0'));
  if (read_only_flag_) w.boolean(false);
  write(w.frame());
  close_after_writes();
}

// --- Requests ------------------------------------------------------------------------------

uint64_t ZkSession::open_slot(std::string watch_path, int watch_kind) {
  Slot s;
  s.watch_path = std::move(watch_path);
  s.watch_kind = watch_kind;
  slots_.push_back(std::move(s));
  return first_slot_ + slots_.size() - 1;
}

void ZkSession::complete(uint64_t slot, std::string frame) {
  if (slot < first_slot_ || slot - first_slot_ >= slots_.size()) return;
  Slot& s = slots_[slot - first_slot_];
  s.done = true;
  s.frame = std::move(frame);
  flush();
}

void ZkSession::answer_in_turn(int32_t xid,
                               std::function<std::pair<int32_t, std::string>()> answer) {
  const uint64_t slot = open_slot();
  slots_.back().compute = [this, slot, xid, answer] {
    const auto [err, body] = answer();
    jute::Writer w;
    w.i32(xid);
    w.i64(reply_zxid(nullptr));
    w.i32(err);
    w.raw(body);
    (void)slot;
    return w.frame();
  };
  flush();
}

void ZkSession::flush() {
  struct Resume {
    ZkSession* s;
    ~Resume() {
      if (s->paused_) s->read_more();
    }
  } resume{this};
  while (!slots_.empty() && (slots_.front().done || slots_.front().compute)) {
    if (!slots_.front().done) {
      slots_.front().frame = slots_.front().compute();
      slots_.front().done = true;
    }
    std::string& frame = slots_.front().frame;
    // The header's zxid is set as the answer leaves, so that it never goes down on the wire
    // (an answer made early can leave after one with a higher zxid).
    if (frame.size() >= 16) {
      int64_t z = 0;
      for (int i = 8; i < 16; ++i) z = (z << 8) | static_cast<unsigned char>(frame[i]);
      z = std::max(z, sent_zxid_);
      sent_zxid_ = z;
      for (int i = 15; i >= 8; --i, z >>= 8) frame[i] = static_cast<char>(z & 0xff);
    }
    write(std::move(frame));
    const uint64_t n = first_slot_;
    slots_.pop_front();
    ++first_slot_;
    for (auto it = held_.begin(); it != held_.end();) {
      if (it->after == n) {
        write(std::move(it->frame));
        it = held_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (close_when_written_) close_if_done();
}

// With close_after_writes(): closes once every answer is made and written.
void ZkSession::close_if_done() {
  if (!writing_ && out_.empty() && slots_.empty()) close();
}

void ZkSession::reply(uint64_t slot, int32_t xid, int32_t err, const std::string& body) {
  jute::Writer w;
  w.i32(xid);
  w.i64(last_zxid_);
  w.i32(err);
  w.raw(body);
  complete(slot, w.frame());
}

void ZkSession::write(std::string frame) {
  if (!socket_.is_open()) return;
  ++sent_;
  ++server_.packets_sent;
  out_bytes_ += frame.size();
  out_.push_back(std::move(frame));
  if (!writing_) write_next();
}

void ZkSession::write_next() {
  if (out_.empty()) {
    writing_ = false;
    if (close_when_written_) close_if_done();
    return;
  }
  writing_ = true;
  net::async_write(socket_, net::buffer(out_.front()),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                     if (ec) {
                       self->out_.clear();
                       self->out_bytes_ = 0;
                       self->writing_ = false;
                       return self->close();
                     }
                     self->out_bytes_ -= self->out_.front().size();
                     self->out_.pop_front();
                     self->write_next();
                     if (self->paused_) self->read_more();
                   });
}

void ZkSession::watch(const WatchedEvent& event) {
  // One event per change, whatever number of the session's watches it fires (a getData and a
  // getChildren watch on a deleted node, a persistent watch beside a one-shot one, recursive
  // watches on two ancestors): ZooKeeper notifies a connection once per change, and its
  // client hands the event to each watcher. A change is a trigger of the update; one update (a
  // multi, a close) may make the same event on the same path several times, each sent. An
  // event the client library fired itself (no trigger) counts once per kind and path.
  if (event.zxid != sent_event_zxid_) {
    sent_event_zxid_ = event.zxid;
    sent_triggers_.clear();
    sent_events_.clear();
    sent_untriggered_.clear();
  }
  const std::pair<EventType, std::string> what(event.event, event.path);
  if (event.trigger >= 0) {
    if (sent_untriggered_.count(what) || !sent_triggers_.insert(event.trigger).second) return;
    sent_events_.insert(what);
  } else {
    if (!sent_events_.insert(what).second) return;
    sent_untriggered_.insert(what);
  }
  std::string frame = event_frame(event.event, event.path, event.zxid);
  // A data event (created, deleted, changed) may belong to a getData or exists watch, a
  // children event (children changed, deleted) to a getChildren one.
  const bool data = event.event != EventType::NodeChildrenChanged;
  const bool child =
      event.event == EventType::NodeChildrenChanged || event.event == EventType::NodeDeleted;
  // Every slot still here is unsent (a finished answer waits behind unfinished ones).
  std::optional<uint64_t> after;
  for (size_t i = slots_.size(); i-- > 0;) {
    const Slot& s = slots_[i];
    if (s.watch_kind == 0 || s.watch_path != event.path) continue;
    if ((s.watch_kind == 1 && data) || (s.watch_kind == 2 && child)) {
      after = first_slot_ + i;
      break;
    }
  }
  // Events leave in the order they came: one behind a held event is held behind it too.
  if (!held_.empty()) after = std::max(after.value_or(0), held_.back().after);
  if (after) {
    held_.push_back(HeldEvent{*after, std::move(frame)});
    return;
  }
  write(std::move(frame));
}

// The zxid a reply carries: the highest the client has seen on this connection (its writes'
// zxids and those of the stats it read), never the distributor's progress beyond it. A client
// sends it back as setWatches' relative zxid, and every reply it got came after the events
// owed to it on the same connection; a zxid taken from the progress could name an update
// whose event the client never got (the watch function is not ordered with the distributor),
// and setWatches would then not fire it.
int64_t ZkSession::reply_zxid(const OpResult* r) {
  int64_t z = last_zxid_;
  if (r) {
    z = std::max(z, r->zxid);
    if (r->stat) z = std::max({z, r->stat->mzxid, r->stat->pzxid, r->stat->czxid});
  }
  last_zxid_ = z;
  return z;
}

std::string ZkSession::stat_body(const Stat& stat) const {
  jute::Writer w;
  write_stat(w, stat, server_.epoch_offset_ms);
  return w.bytes();
}

template <class F>
void ZkSession::then(const std::string& name, Task<OpResult> op, F answer) {
  ++remote_->inflight;  // (the registry keeps the session while it has operations under way)
  std::weak_ptr<RemoteSession> weak_remote = remote_;
  auto self = shared_from_this();
  server_.loop.spawn_then(
      "zk." + name, std::move(op),
      [self, weak_remote, answer = std::move(answer)](OpResult res) mutable {
        if (auto live = weak_remote.lock()) --live->inflight;
        self->server_.loop.emit([self, res = std::move(res), answer = std::move(answer)] {
          self->reply_zxid(&res);
          answer(res);
        });
      });
}

void ZkSession::run(uint64_t slot, int32_t xid, const std::string& name, Task<OpResult> op,
                    std::function<std::string(const OpResult&)> body) {
  then(name, std::move(op), [this, slot, xid, body](const OpResult& res) {
    if (res.status.is_ok() && !res.stat_null) {
      reply(slot, xid, kErrOk, body(res));
    } else {
      const int32_t err = res.stat_null ? kErrNoNode : static_cast<int32_t>(res.status.code());
      reply(slot, xid, err);
      if (err == kErrSessionExpired) close_after_writes();
    }
    if (closing_session_) close_after_writes();
  });
}

void ZkSession::unimplemented(uint64_t slot, int32_t xid, int32_t type) {
  ++server_.unimplemented[jute::op_name(type)];
  reply(slot, xid, kErrUnimplemented);
}

void ZkSession::on_request(const std::string& body) {
  jute::Reader in(body);
  const int32_t xid = in.i32();
  const int32_t type = in.i32();
  if (!in.ok()) return fail("a malformed request header: " + in.error());
  last_cxid_ = xid;
  last_op_ = jute::op_name(type);
  if (!remote_ || !server_.sessions.holds(*remote_)) {
    reply(open_slot(), xid, kErrSessionExpired);
    return close_after_writes();
  }
  server_.sessions.seen(*remote_);
  ClientSession* c = remote_->client;
  // A request whose body does not read: MarshallingError, and the connection goes on (the
  // frame was read whole), as ZooKeeper answers it.
  auto malformed = [&] {
    ++server_.malformed;
    server_.log.line("ZooKeeper client " + peer_ + ": a malformed " + jute::op_name(type) +
                     " request: " + in.error());
    reply_zxid(nullptr);
    reply(open_slot(), xid, kErrMarshalling);
  };
  auto path_reply = [](const OpResult& r) {
    jute::Writer w;
    w.buffer(r.path.value_or(""));
    return w.bytes();
  };
  auto stat_reply = [this](const OpResult& r) {
    return r.stat ? stat_body(*r.stat) : stat_body(Stat{});
  };
  switch (static_cast<OpCode>(type)) {
    case OpCode::Ping: {
      const uint64_t slot = open_slot();
      reply_zxid(nullptr);
      return reply(slot, jute::kPingXid, kErrOk);  // whatever xid the ping had, as ZooKeeper
    }
    case OpCode::CloseSession: {
      // Reads stop; the answer still goes out, then the connection closes (run()).
      closing_session_ = true;
      closing_ = true;
      return run(open_slot(), xid, "close", c->close(),
                 [](const OpResult&) { return std::string(); });
    }
    case OpCode::Create:
    case OpCode::Create2:
    case OpCode::CreateContainer:
    case OpCode::CreateTtl: {
      ZkCreate z = read_create(in, type, false);
      if (!in.ok()) return malformed();
      const uint64_t slot = open_slot();
      reply_zxid(nullptr);
      if (z.flags < 0 || z.flags > 6) return reply(slot, xid, kErrBadArguments);
      // TTL nodes off (--no-ttl-nodes): as a ZooKeeper without extended types, its default.
      if (z.ttl_mode && !server_.config.ttl_nodes) return unimplemented(slot, xid, type);
      // create2, createContainer and createTTL answer with the stat (ZooKeeper's
      // Create2Response); create with the name alone.
      const bool with_stat = static_cast<OpCode>(type) != OpCode::Create;
      CreateRequest& cr = z.request;
      return run(slot, xid, "create",
                 c->create(std::move(cr.path), std::move(cr.data), cr.ephemeral, cr.sequential,
                           cr.container, std::move(cr.acl), cr.ttl_ms),
                 [this, with_stat](const OpResult& r) {
                   jute::Writer w;
                   w.buffer(r.path.value_or(""));
                   std::string out = w.bytes();
                   if (with_stat) out += r.stat ? stat_body(*r.stat) : stat_body(Stat{});
                   return out;
                 });
    }
    case OpCode::Delete: {
      std::string path = in.text("the path");
      const int32_t version = in.i32();
      if (!in.ok()) return malformed();
      return run(open_slot(), xid, "delete", c->remove(std::move(path), version),
                 [](const OpResult&) { return std::string(); });
    }
    case OpCode::Exists:
    case OpCode::GetData:
    case OpCode::GetChildren:
    case OpCode::GetChildren2: {
      std::string path = in.text("the path");
      bool watch = in.boolean();
      if (!in.ok()) return malformed();
      const OpCode op = static_cast<OpCode>(type);
      // A ZooKeeper client has one watch per path and kind: getData and exists set the same
      // data watch, getChildren the child watch. One already set is not set again (it fires
      // once for both reads, as on ZooKeeper).
      if (watch && (op == OpCode::Exists || op == OpCode::GetData))
        watch = !c->watching(path, "get_data") && !c->watching(path, "exists");
      if (watch && (op == OpCode::GetChildren || op == OpCode::GetChildren2))
        watch = !c->watching(path, "get_children");
      const int kind = !watch ? 0 : (op == OpCode::Exists || op == OpCode::GetData) ? 1 : 2;
      const uint64_t slot = open_slot(watch ? path : std::string(), kind);
      if (op == OpCode::Exists) return run(slot, xid, "exists", c->exists(path, watch), stat_reply);
      if (op == OpCode::GetData)
        return run(slot, xid, "getData", c->get_data(path, watch), [this](const OpResult& r) {
          jute::Writer w;
          write_data(w, r.data);
          return w.bytes() + (r.stat ? stat_body(*r.stat) : stat_body(Stat{}));
        });
      const bool with_stat = op == OpCode::GetChildren2;
      return run(slot, xid, "getChildren", c->get_children(path, watch),
                 [this, with_stat](const OpResult& r) {
                   jute::Writer w;
                   w.strings(r.children.value_or(std::vector<std::string>{}));
                   return w.bytes() + (with_stat ? (r.stat ? stat_body(*r.stat) : stat_body(Stat{}))
                                                 : std::string());
                 });
    }
    case OpCode::SetData: {
      std::string path = in.text("the path");
      Bytes data = data_of(in.buffer());
      const int32_t version = in.i32();
      if (!in.ok()) return malformed();
      return run(open_slot(), xid, "setData",
                 c->set_data(std::move(path), std::move(data), version), stat_reply);
    }
    case OpCode::Sync: {
      // Reads go to the user store, which every answered write has reached: a sync answers in
      // its turn, once the operations before it are answered.
      std::string path = in.text("the path");
      if (!in.ok()) return malformed();
      const uint64_t slot = open_slot();
      OpResult r;
      r.path = path;
      reply_zxid(nullptr);
      return reply(slot, xid, kErrOk, path_reply(r));
    }
    case OpCode::GetAcl: {
      std::string path = in.text("the path");
      if (!in.ok()) return malformed();
      return run(open_slot(), xid, "getACL", c->get_acl(std::move(path)),
                 [stat_reply](const OpResult& r) {
                   jute::Writer w;
                   const Acl& acl = r.acl ? *r.acl : open_acl();
                   w.i32(static_cast<int32_t>(acl.size()));
                   for (const AclEntry& a : acl) {
                     w.i32(a.perms);
                     w.buffer(a.scheme);
                     w.buffer(a.id);
                   }
                   return w.bytes() + stat_reply(r);
                 });
    }
    case OpCode::SetAcl: {
      std::string path = in.text("the path");
      Acl acl = read_acl(in);
      const int32_t version = in.i32();
      if (!in.ok()) return malformed();
      return run(open_slot(), xid, "setACL", c->set_acl(std::move(path), std::move(acl), version),
                 stat_reply);
    }
    case OpCode::SetWatches:
    case OpCode::SetWatches2: {
      const int64_t relative = in.i64();
      auto data = in.strings("dataWatches");
      auto exist = in.strings("existWatches");
      auto child = in.strings("childWatches");
      std::vector<std::string> persistent, recursive;
      if (static_cast<OpCode>(type) == OpCode::SetWatches2) {
        persistent = in.strings("persistentWatches");
        recursive = in.strings("persistentRecursiveWatches");
      }
      if (!in.ok()) return malformed();
      return set_watches(open_slot(), xid, relative,
                         {std::move(data), std::move(exist), std::move(child),
                          std::move(persistent), std::move(recursive)});
    }
    case OpCode::Auth: {
      // ZooKeeper's digest and ip providers (decision 50). The identities take effect for the
      // requests after this one, in their order.
      (void)in.i32();
      const std::optional<std::string> given_scheme = in.buffer();
      const std::optional<std::string> given_secret = in.buffer();
      if (!in.ok()) return malformed();
      // (a null scheme, or a digest's null secret, fails as an unknown scheme does, as on
      // ZooKeeper; the ip provider reads no secret)
      const std::string scheme =
          given_secret || given_scheme != "digest" ? given_scheme.value_or("") : std::string();
      const std::string secret = given_secret.value_or("");
      std::vector<Identity> added;
      if (scheme == "digest") {
        const Identity id = digest_identity(secret);
        if (!server_.super_digest.empty() && id.id == server_.super_digest)
          added.push_back(Identity{"super", ""});
        added.push_back(id);
      } else if (scheme == "ip") {
        added.push_back(Identity{"ip", peer_host()});
      } else {
        const uint64_t slot = open_slot();
        reply_zxid(nullptr);
        reply(slot, xid, kErrAuthFailed);
        return close_after_writes();
      }
      for (const Identity& id : added)
        if (std::find(identities_.begin(), identities_.end(), id) == identities_.end())
          identities_.push_back(id);
      return run(open_slot(), xid, "auth", c->add_identities(std::move(added)),
                 [](const OpResult&) { return std::string(); });
    }
    case OpCode::WhoAmI: {
      const uint64_t slot = open_slot();
      jute::Writer w;
      w.i32(static_cast<int32_t>(identities_.size()));
      for (const Identity& id : identities_) {
        w.buffer(id.scheme);
        // The user a provider names: a digest's before its colon, an ip's address, none for
        // the super user (ZooKeeper's AuthUtil).
        w.buffer(id.scheme == "digest"  ? id.id.substr(0, id.id.find(':'))
                 : id.scheme == "super" ? std::string()
                                        : id.id);
      }
      reply_zxid(nullptr);
      return reply(slot, xid, kErrOk, w.bytes());
    }
    case OpCode::CheckWatches:
    case OpCode::RemoveWatches: {
      std::string path = in.text("the path");
      const int32_t kind = in.i32();  // 1 children, 2 data, 3 any
      if (!in.ok() || kind < 1 || kind > 3) {
        if (in.ok()) in.fail("a watcher type " + std::to_string(kind));
        return malformed();
      }
      const bool dry_run = static_cast<OpCode>(type) == OpCode::CheckWatches;
      std::weak_ptr<RemoteSession> weak = remote_;
      return answer_in_turn(xid, [this, weak, path, kind, dry_run] {
        auto r = weak.lock();
        if (!r || !server_.sessions.holds(*r))
          return std::pair<int32_t, std::string>(kErrSessionExpired, {});
        const size_t n = r->client->forget_watches(path, (kind & 2) != 0, (kind & 1) != 0, dry_run);
        return std::pair<int32_t, std::string>(n > 0 ? kErrOk : kErrNoWatcher, {});
      });
    }
    case OpCode::GetEphemerals: {
      std::string prefix = in.text("the prefix path");
      if (!in.ok()) return malformed();
      return answer_in_turn(xid, [this, prefix] { return ephemerals(prefix); });
    }
    case OpCode::GetAllChildrenNumber: {
      std::string path = in.text("the path");
      if (!in.ok()) return malformed();
      return all_children_number(open_slot(), xid, std::move(path));
    }
    case OpCode::MultiRead:
      return multi_read(open_slot(), xid, in);
    case OpCode::Multi:
      return multi(open_slot(), xid, in);
    case OpCode::Check:
      // Only inside a multi; ZooKeeper closes the connection of a client that sends it alone.
      return fail("a check request outside a multi");
    case OpCode::Reconfig: {
      const uint64_t slot = open_slot();
      reply_zxid(nullptr);
      return reply(slot, xid, kErrReconfigDisabled);  // as a standalone ZooKeeper answers
    }
    case OpCode::Sasl: {
      // SASL is refused (decision 50): AuthFailed, and the connection closes, as ZooKeeper
      // closes it on a failed authentication; the client reports the failure at once instead
      // of retrying.
      ++server_.unimplemented["sasl"];
      server_.log.line("ZooKeeper client " + peer_ +
                       ": SASL authentication is not supported; use addauth digest");
      reply_zxid(nullptr);
      reply(open_slot(), xid, kErrAuthFailed);
      return close_after_writes();
    }
    case OpCode::AddWatch: {
      std::string path = in.text("the path");
      const int32_t mode = in.i32();  // 0 persistent, 1 persistent recursive
      if (!in.ok() || mode < 0 || mode > 1) {
        if (in.ok()) in.fail("an addWatch mode " + std::to_string(mode));
        return malformed();
      }
      // Answered as ZooKeeper answers it: an error response of 0 (decision 51).
      return run(open_slot(), xid, "addWatch", c->add_watch(std::move(path), mode == 1),
                 [](const OpResult&) {
                   jute::Writer w;
                   w.i32(0);
                   return w.bytes();
                 });
    }
    case OpCode::CreateSession:
    case OpCode::DeleteContainer:
      return unimplemented(open_slot(), xid, type);
    default: {
      // An operation ZooKeeper does not have: ZUNIMPLEMENTED, then the connection closes, as
      // ZooKeeper does; counted together, whatever the code (so that codes cannot grow the
      // counters).
      ++server_.unimplemented["unknown"];
      reply_zxid(nullptr);
      reply(open_slot(), xid, kErrUnimplemented);
      return close_after_writes();
    }
  }
}

// A create request (create, create2, createContainer, createTTL; alone or in a multi).
ZkSession::ZkCreate ZkSession::read_create(jute::Reader& in, int32_t type, bool in_multi) const {
  ZkCreate z;
  CreateRequest& c = z.request;
  c.path = in.text("the path");
  c.data = data_of(in.buffer());
  c.acl = read_acl(in);
  z.flags = in.i32();
  // The modes: 0 persistent, 1 ephemeral, 2 persistent sequential, 3 ephemeral sequential, 4
  // container, 5 persistent with TTL, 6 persistent sequential with TTL.
  const OpCode op = static_cast<OpCode>(type);
  const int64_t ttl = op == OpCode::CreateTtl ? in.i64() : -1;
  z.ttl_mode = z.flags == 5 || z.flags == 6;
  // What kind of node, as ZooKeeper 3.8 decides it (checked on the real server): in a multi
  // by the mode alone (it rebuilds each create from its flags); alone, a createContainer makes
  // a container whatever the mode (with its sequential bit), a create or create2 never does
  // (the container mode makes a persistent node there), a createTTL by the mode.
  c.container = in_multi
                    ? z.flags == 4
                    : op == OpCode::CreateContainer || (op == OpCode::CreateTtl && z.flags == 4);
  c.ephemeral = !c.container && z.flags >= 0 && z.flags <= 3 && (z.flags & 1) != 0;
  c.sequential = z.flags != 4 && (z.flags & 2) != 0;
  // A TTL mode's time goes to the writer, which checks it as ZooKeeper does (decision 53): a
  // missing or non-positive one as 0 (BadArguments, or Unimplemented where TTL nodes are off).
  // A time of 0 or more with a mode that is not a TTL mode is BadArguments (-1 tells the
  // writer), but in a multi, whose createTTL ZooKeeper makes a plain create of that mode; a
  // negative one asks for no TTL. (ZooKeeper 3.8.0 takes a lone createTTL of a plain mode with
  // a negative time, then fails to apply it and stops, for good: fkemu makes the plain create
  // it validated.) A mode ZooKeeper does not have is BadArguments too, first (in a multi, at
  // its index).
  if (z.ttl_mode) {
    c.ttl_ms = std::max<int64_t>(ttl, 0);
  } else if ((ttl >= 0 && !in_multi) || z.flags < 0 || z.flags > 6) {
    c.ttl_ms = -1;
  }
  return z;
}

// An ACL as the client sent it; the writer checks and fixes it up (decision 50). A null scheme
// or id reads as empty (kazoo sends an empty id as null): no provider takes it.
Acl ZkSession::read_acl(jute::Reader& in) {
  const int32_t n = in.count("the ACL", 12);
  Acl acl;
  for (int32_t i = 0; i < n && in.ok(); ++i) {
    AclEntry a;
    a.perms = in.i32();
    a.scheme = in.buffer().value_or("");
    a.id = in.buffer().value_or("");
    acl.push_back(std::move(a));
  }
  return acl;
}

// The session's ephemeral nodes whose paths start with `prefix`, as the system store has them
// (the answers before this one are out: what they created or deleted is there).
std::pair<int32_t, std::string> ZkSession::ephemerals(const std::string& prefix) const {
  KvStore& system = server_.loop.service().system_store();
  const auto item = system.get(kSessionsTable, remote_->id);
  std::set<std::string> paths;
  if (item)
    for (const std::string& p : SessionRecord::from_item(*item).ephemerals) {
      if (p.rfind(prefix, 0) != 0 || paths.count(p)) continue;
      const auto node = system.get(kNodesTable, p);
      if (!node) continue;
      const NodeRecord rec = NodeRecord::from_item(*node);
      if (rec.node.exists && rec.node.stat.ephemeral_owner == remote_->id) paths.insert(p);
    }
  jute::Writer w;
  w.strings(std::vector<std::string>(paths.begin(), paths.end()));
  return {kErrOk, w.bytes()};
}

namespace {

// ZooKeeper's setWatches, on one session: each watch the client had before it reconnected fires
// now if its node changed since `relative` (the last zxid the client saw), and is set again
// otherwise. A watch the session still holds (it has not fired) is left as it is. Persistent
// watches are set again, with no event for what changed meanwhile (as ZooKeeper's setWatches2).
Task<OpResult> restore_watches(ClientSession* c, int64_t relative, std::vector<std::string> data,
                               std::vector<std::string> exist, std::vector<std::string> child,
                               std::vector<std::string> persistent,
                               std::vector<std::string> recursive,
                               std::vector<WatchedEvent>* fire) {
  // The watches the session holds, looked up once (a list of thousands of paths must not cost
  // a scan of the session's watches each), and each path taken once per list.
  std::set<std::pair<std::string, std::string>> held = c->watches();
  auto take = [&held](const char* op, const std::string& p) { return held.emplace(op, p).second; };
  // One watched read per path, ZooKeeper's rule applied to what it read: a change since the
  // client's zxid fires now (and the watch just set is withdrawn: the event is its one firing);
  // otherwise the watch stays set. (Two reads, one to compare and one to watch, would lose a
  // change made between them.)
  for (const std::string& p : data) {
    if (!take("get_data", p)) continue;
    OpResult r = co_await c->rewatch(p, "get_data");
    if (r.status.code() == Code::NoNode) {
      (void)c->forget_watches(p, /*data=*/true, /*children=*/false, /*dry_run=*/false);
      fire->push_back(WatchedEvent{EventType::NodeDeleted, p, 0});
    } else if (r.status.is_ok() && r.stat && r.stat->mzxid > relative) {
      (void)c->forget_watches(p, /*data=*/true, /*children=*/false, /*dry_run=*/false);
      fire->push_back(WatchedEvent{EventType::NodeDataChanged, p, r.stat->mzxid});
    }
  }
  for (const std::string& p : exist) {
    if (!take("exists", p)) continue;
    OpResult r = co_await c->rewatch(p, "exists");
    if (r.status.is_ok() && !r.stat_null) {
      (void)c->forget_watches(p, /*data=*/true, /*children=*/false, /*dry_run=*/false);
      fire->push_back(WatchedEvent{EventType::NodeCreated, p, r.stat ? r.stat->czxid : 0});
    }
  }
  for (const std::string& p : child) {
    if (!take("get_children", p)) continue;
    OpResult r = co_await c->rewatch(p, "get_children");
    if (r.status.code() == Code::NoNode) {
      (void)c->forget_watches(p, /*data=*/false, /*children=*/true, /*dry_run=*/false);
      fire->push_back(WatchedEvent{EventType::NodeDeleted, p, 0});
    } else if (r.status.is_ok() && r.stat && r.stat->pzxid > relative) {
      (void)c->forget_watches(p, /*data=*/false, /*children=*/true, /*dry_run=*/false);
      fire->push_back(WatchedEvent{EventType::NodeChildrenChanged, p, r.stat->pzxid});
    }
  }
  for (const auto& [list, op] :
       {std::pair(&persistent, "persistent"), std::pair(&recursive, "recursive")})
    for (const std::string& p : *list)
      if (take(op, p)) (void)co_await c->add_watch(p, list == &recursive);
  co_return OpResult{};  // (what it found is in `fire`)
}

}  // namespace

namespace {

// The number of nodes below `path`, counted through the client library's reads.
Task<OpResult> count_descendants(ClientSession* c, std::string path, int64_t* total) {
  OpResult top = co_await c->get_children(path, false);
  if (!top.status.is_ok()) co_return top;
  std::vector<std::string> todo;
  const std::string base = path == "/" ? "" : path;
  for (const std::string& child : top.children.value_or(std::vector<std::string>{}))
    todo.push_back(base + "/" + child);
  while (!todo.empty()) {
    const std::string p = todo.back();
    todo.pop_back();
    ++*total;
    // (ZooKeeper checks READ on the node asked about, not on those below it)
    OpResult r = co_await c->get_children(p, false, /*check_acl=*/false);
    if (!r.status.is_ok()) continue;  // deleted meanwhile
    for (const std::string& child : r.children.value_or(std::vector<std::string>{}))
      todo.push_back(p + "/" + child);
  }
  co_return top;
}

// multiRead: getData and getChildren requests, each answered in turn (ZooKeeper does not make
// them atomic either).
struct ReadOp {
  int32_t type = 0;
  std::string path;
};
Task<OpResult> read_all(ClientSession* c, std::vector<ReadOp> ops, int64_t epoch_offset_ms,
                        std::string* out) {
  jute::Writer w;
  for (const ReadOp& op : ops) {
    const bool data = op.type == static_cast<int32_t>(OpCode::GetData);
    OpResult r;
    if (data) {
      r = co_await c->get_data(op.path, false);
    } else {
      r = co_await c->get_children(op.path, false);
    }
    if (!r.status.is_ok()) {
      w.i32(static_cast<int32_t>(OpCode::Error));
      w.boolean(false);
      w.i32(static_cast<int32_t>(r.status.code()));
      w.i32(static_cast<int32_t>(r.status.code()));
      continue;
    }
    w.i32(op.type);
    w.boolean(false);
    w.i32(kErrOk);
    if (data) {
      write_data(w, r.data);
      write_stat(w, r.stat.value_or(Stat{}), epoch_offset_ms);
    } else {
      w.strings(r.children.value_or(std::vector<std::string>{}));
    }
  }
  w.i32(-1);
  w.boolean(true);
  w.i32(-1);
  *out = w.bytes();
  co_return OpResult{};
}

}  // namespace

void ZkSession::all_children_number(uint64_t slot, int32_t xid, std::string path) {
  auto total = std::make_shared<int64_t>(0);
  run(slot, xid, "getAllChildrenNumber",
      count_descendants(remote_->client, std::move(path), total.get()), [total](const OpResult&) {
        jute::Writer w;
        w.i32(static_cast<int32_t>(*total));
        return w.bytes();
      });
}

void ZkSession::multi_read(uint64_t slot, int32_t xid, jute::Reader& in) {
  std::vector<ReadOp> ops;
  for (;;) {
    const int32_t type = in.i32();
    const bool done = in.boolean();
    (void)in.i32();
    if (!in.ok() || done) break;
    if (type != static_cast<int32_t>(OpCode::GetData) &&
        type != static_cast<int32_t>(OpCode::GetChildren)) {
      in.fail("multiRead holds a " + jute::op_name(type) + " request");
      break;
    }
    ReadOp op;
    op.type = type;
    op.path = in.text("the path");
    (void)in.boolean();  // watch: ZooKeeper's client sends false
    ops.push_back(std::move(op));
  }
  if (!in.ok()) {
    // As ZooKeeper: MarshallingError with an empty result list, and the connection goes on.
    ++server_.malformed;
    server_.log.line("ZooKeeper client " + peer_ +
                     ": a malformed multiRead request: " + in.error());
    jute::Writer end;
    end.i32(-1);
    end.boolean(true);
    end.i32(-1);
    reply_zxid(nullptr);
    return reply(slot, xid, kErrMarshalling, end.bytes());
  }
  auto out = std::make_shared<std::string>();
  run(slot, xid, "multiRead",
      read_all(remote_->client, std::move(ops), server_.epoch_offset_ms, out.get()),
      [out](const OpResult&) { return *out; });
}

// multi: create, create2, delete, setData and check requests, applied atomically by the
// writer (docs/decisions.md). Answered as ZooKeeper answers: the reply header says OK and each
// operation's result follows; refused, every operation gets an error result (0 before the one
// that failed, its error, then RuntimeInconsistency). A read or another request in it answers
// MarshallingError, as on ZooKeeper.
void ZkSession::multi(uint64_t slot, int32_t xid, jute::Reader& in) {
  std::vector<MultiOp> ops;
  std::vector<int32_t> types;
  bool unsupported = false;
  for (;;) {
    const int32_t type = in.i32();
    const bool done = in.boolean();
    (void)in.i32();
    if (!in.ok() || done) break;
    // The type its result has: a create's is create or create2 by the node it makes.
    int32_t answered_as = type;
    switch (static_cast<OpCode>(type)) {
      case OpCode::Create:
      case OpCode::Create2:
      case OpCode::CreateContainer:
      case OpCode::CreateTtl: {
        ZkCreate z = read_create(in, type, true);
        // A TTL mode in a create, create2 or createContainer of a multi (which carry no time):
        // ZooKeeper refuses the whole multi as one it cannot read.
        if (z.ttl_mode && static_cast<OpCode>(type) != OpCode::CreateTtl) unsupported = true;
        answered_as = static_cast<int32_t>(z.request.container || z.ttl_mode ? OpCode::Create2
                                                                             : OpCode::Create);
        ops.emplace_back(std::move(z.request));
        break;
      }
      case OpCode::Delete: {
        DeleteRequest d;
        d.path = in.text("the path");
        d.version = in.i32();
        ops.emplace_back(std::move(d));
        break;
      }
      case OpCode::SetData: {
        SetDataRequest sd;
        sd.path = in.text("the path");
        sd.data = data_of(in.buffer());
        sd.version = in.i32();
        ops.emplace_back(std::move(sd));
        break;
      }
      case OpCode::Check: {
        CheckRequest k;
        k.path = in.text("the path");
        k.version = in.i32();
        ops.emplace_back(std::move(k));
        break;
      }
      default:
        unsupported = true;
        break;
    }
    if (unsupported) break;
    types.push_back(answered_as);
  }
  if (unsupported) return reply(slot, xid, kErrMarshalling);  // the rest is not read
  if (!in.ok()) {
    ++server_.malformed;
    server_.log.line("ZooKeeper client " + peer_ + ": a malformed multi request: " + in.error());
    return reply(slot, xid, kErrMarshalling);
  }
  const size_t n = ops.size();
  ZkSession* self = this;  // (then() keeps the session alive until the answer)
  then("multi", remote_->client->multi(std::move(ops)),
       [self, slot, xid, types, n](const OpResult& res) {
         if (!res.status.is_ok() && res.failed_op < 0) {
           self->reply(slot, xid, static_cast<int32_t>(res.status.code()));
           if (res.status.code() == Code::SessionExpired) self->close_after_writes();
           return;
         }
         jute::Writer w;
         for (size_t i = 0; i < n; ++i) {
           if (!res.status.is_ok()) {
             const int32_t err = static_cast<int>(i) < res.failed_op ? kErrOk
                                 : static_cast<int>(i) == res.failed_op
                                     ? static_cast<int32_t>(res.status.code())
                                     : kErrRuntimeInconsistency;
             w.i32(static_cast<int32_t>(OpCode::Error));
             w.boolean(false);
             w.i32(err);
             w.i32(err);
             continue;
           }
           const OpOutcome none;
           const OpOutcome& o = i < res.results.size() ? res.results[i] : none;
           const OpCode type = static_cast<OpCode>(types[i]);
           // A create that made a container or a TTL node is answered as a create2 (type 15,
           // the name and the stat), any other as a plain create (type 1, the name alone),
           // whatever its request's type, as ZooKeeper 3.8 answers them (checked on the real
           // server).
           const bool create = type == OpCode::Create;
           const bool create2 = type == OpCode::Create2;
           w.i32(types[i]);
           w.boolean(false);
           w.i32(kErrOk);
           if (create || create2) w.buffer(o.path.value_or(""));
           if (create2) w.raw(self->stat_body(o.stat.value_or(Stat{})));
           if (type == OpCode::SetData) w.raw(self->stat_body(o.stat.value_or(Stat{})));
         }
         w.i32(-1);
         w.boolean(true);
         w.i32(-1);
         self->reply(slot, xid, kErrOk, w.bytes());
       });
}

void ZkSession::set_watches(uint64_t slot, int32_t xid, int64_t relative, WatchLists lists) {
  auto fire = std::make_shared<std::vector<WatchedEvent>>();
  then("setWatches",
       restore_watches(remote_->client, relative, std::move(lists.data), std::move(lists.exist),
                       std::move(lists.child), std::move(lists.persistent),
                       std::move(lists.recursive), fire.get()),
       [this, slot, xid, fire](const OpResult&) {
         for (const WatchedEvent& e : *fire) write(event_frame(e.event, e.path, e.zxid));
         reply(slot, xid, kErrOk);
       });
}

// --- Four-letter words ------------------------------------------------------------------------

std::string ZkSession::describe(bool full) const {
  std::string out = " /" + peer_ + "[1](queued=" + std::to_string(slots_.size()) +
                    ",recved=" + std::to_string(received_) + ",sent=" + std::to_string(sent_);
  if (full && remote_) {
    out += ",sid=" + hex64(zookeeper_session_id(remote_->id)) + ",lop=" + last_op_ +
           ",to=" + std::to_string(timeout_ms_) + ",lcxid=" + hex64(last_cxid_) +
           ",lzxid=" + hex64(last_zxid_) + ",llat=0,minlat=0,avglat=0,maxlat=0";
  }
  return out + ")\n";
}

void ZkSession::four_letter(std::string_view word) {
  const std::string w(word);
  std::vector<std::shared_ptr<ZkSession>> conns;
  for (const auto& weak : server_.open)
    if (auto s = weak.lock(); s && s->remote_ && !s->closing_) conns.push_back(s);
  size_t nodes = 0, ephemerals = 0;
  auto count_nodes = [&] {
    if (!server_.loop.built()) return;
    for (const auto& [path, item] : server_.loop.service().system_store().scan(kNodesTable)) {
      const NodeRecord rec = NodeRecord::from_item(item);
      if (!rec.node.exists) continue;
      ++nodes;
      if (rec.node.stat.ephemeral_owner) ++ephemerals;
    }
  };
  size_t watches = 0;
  std::set<std::string> watched;
  for (const auto& s : conns) {
    if (!server_.sessions.holds(*s->remote_)) continue;
    for (std::string& p : s->remote_->client->watched_paths()) {
      ++watches;
      watched.insert(std::move(p));
    }
  }
  const std::string zxid = hex64(server_.last_zxid());
  std::string out;
  auto summary = [&] {
    count_nodes();
    return "Latency min/avg/max: 0/0.0/0\nReceived: " + std::to_string(server_.packets_received) +
           "\nSent: " + std::to_string(server_.packets_sent) +
           "\nConnections: " + std::to_string(conns.size()) + "\nOutstanding: 0\nZxid: " + zxid +
           "\nMode: standalone\nNode count: " + std::to_string(nodes) + "\n";
  };
  if (w == "ruok") {
    out = "imok";
  } else if (w == "srvr") {
    out = "Zookeeper version: " + std::string(kVersion) + "\n" + summary();
  } else if (w == "stat") {
    out = "Zookeeper version: " + std::string(kVersion) + "\nClients:\n";
    for (const auto& s : conns) out += s->describe(false);
    out += "\n" + summary();
  } else if (w == "envi") {
    out = "Environment:\nzookeeper.version=" + std::string(kVersion) +
          "\nhost.name=localhost\njava.version=none (fkemu is C++)\nos.name=Linux\n"
          "fkemu.semantics=FaaSKeeper\nuser.dir=.\n";
  } else if (w == "conf") {
    out = "clientPort=" + std::to_string(server_.port) +
          "\nsecureClientPort=-1\ndataDir=" + server_.data_path +
          "\ndataDirSize=0\ndataLogDir=" + server_.data_path +
          "\ndataLogSize=0\ntickTime=" + std::to_string(server_.tick_ms()) +
          "\nmaxClientCnxns=0\nminSessionTimeout=" + std::to_string(server_.min_timeout_ms()) +
          "\nmaxSessionTimeout=" + std::to_string(server_.max_timeout_ms()) +
          "\nclientPortListenBacklog=-1\nserverId=0\n";
  } else if (w == "cons") {
    for (const auto& s : conns) out += s->describe(true);
    out += "\n";
  } else if (w == "wchs") {
    out = std::to_string(conns.size()) + " connections watching " + std::to_string(watched.size()) +
          " paths\nTotal watches:" + std::to_string(watches) + "\n";
  } else if (w == "mntr") {
    count_nodes();
    uint64_t unimplemented = 0;
    for (const auto& [op, n] : server_.unimplemented) unimplemented += n;
    const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - server_.started)
                            .count();
    out = "zk_version\t" + std::string(kVersion) +
          "\nzk_server_state\tstandalone\nzk_avg_latency\t0\nzk_max_latency\t0\nzk_min_latency\t0"
          "\nzk_packets_received\t" +
          std::to_string(server_.packets_received) + "\nzk_packets_sent\t" +
          std::to_string(server_.packets_sent) + "\nzk_num_alive_connections\t" +
          std::to_string(conns.size()) + "\nzk_outstanding_requests\t0\nzk_znode_count\t" +
          std::to_string(nodes) + "\nzk_watch_count\t" + std::to_string(watches) +
          "\nzk_ephemerals_count\t" + std::to_string(ephemerals) + "\nzk_uptime\t" +
          std::to_string(uptime) + "\nfkemu_unimplemented_requests\t" +
          std::to_string(unimplemented) + "\nfkemu_malformed_frames\t" +
          std::to_string(server_.malformed) + "\n";
  } else {
    out = w + " is not executed because it is not supported by fkemu\n";
  }
  write(out);
  close_after_writes();
}

}  // namespace fkemu
