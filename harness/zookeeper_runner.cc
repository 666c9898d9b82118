#include "harness/zookeeper_runner.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/model/path.h"
#include "core/model/stat.h"
#include "emulator/operation.h"
#include "harness/zookeeper_server.h"

namespace fkemu::zkref {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMaxWaitMs = 2000;
// The C client drops a connection (pending requests answer ConnectionLoss or
// OperationTimeout) when the server is silent for 2/3 of the session
// timeout, so a small timeout turns a stalled (loaded) machine into wrong
// answers. No session of a comparable scenario expires, so the value is not
// observable otherwise. The server caps it at 20 ticks (40 s).
constexpr int kMinZooKeeperSessionTimeoutMs = 30000;
// Bounds on waiting for ZooKeeper: generous, since the machine may be loaded,
// and longer than it takes the C client to give up on a silent connection
// (2/3 of the session timeout) or the server to expire a session whose close
// request was never sent.
constexpr auto kConnectTimeout = std::chrono::seconds(60);
constexpr auto kOpTimeout = std::chrono::seconds(60);
constexpr auto kCloseTimeout = std::chrono::seconds(60);
// Largest request body the server accepts (jute.maxbuffer, see
// docs/zookeeper-facts.md); larger requests legitimately answer ConnectionLoss.
constexpr size_t kJuteMaxBuffer = 1048575;

// ---------------------------------------------------------------------------
// Steps (emulator/operation.h) as the C client takes them.

enum class Op {
  kCreate,
  kGetData,
  kExists,
  kGetChildren,
  kSetData,
  kDelete,
  kMulti,
  kAddAuth,
  kSetAcl,
  kGetAcl,
  kClose,
  kWait
};

Op op_of(const Step& step) {
  static const std::map<std::string, Op> kOps = {
      {"create", Op::kCreate},    {"get_data", Op::kGetData},
      {"exists", Op::kExists},    {"get_children", Op::kGetChildren},
      {"set_data", Op::kSetData}, {"delete", Op::kDelete},
      {"multi", Op::kMulti},      {"close", Op::kClose},
      {"add_auth", Op::kAddAuth}, {"set_acl", Op::kSetAcl},
      {"get_acl", Op::kGetAcl}};
  if (step.is_wait) return Op::kWait;
  return kOps.at(step.op);  // "expire" was refused: scenario_comparable_with_zookeeper()
}

int create_mode(const Step& step) {
  return step.ephemeral ? (step.sequential ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL)
                        : (step.sequential ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT);
}

// The invoke line's fields besides kind, id and t: the step's session, op and those of its
// arguments the scenario file wrote (Scenario::source, as the loader keeps it), or else the
// arguments as the operation format writes them.
json invoke_fields(const Scenario& sc, const Step& step) {
  json written;
  if (sc.source.is_object() && sc.source.contains("steps") && sc.source["steps"].is_array() &&
      step.index < sc.source["steps"].size()) {
    written = sc.source["steps"][step.index];
  }
  if (!written.is_object()) {
    json inv = invocation_fields(step);
    inv["session"] = step.session;
    return inv;
  }
  json inv{{"session", step.session}, {"op", step.op}};
  for (const char* key :
       {"path", "data", "data_b64", "flags", "version", "watch", "ops", "acl", "scheme", "auth"}) {
    if (written.contains(key)) inv[key] = written[key];
  }
  return inv;
}

Status prefixed(const std::string& prefix, const Status& status) {
  return Status(status.code(), prefix + status.message());
}

// Size of the request body the C client sends for `step`: the formulas
// measured for create (open ACL) and set_data in docs/zookeeper-facts.md;
// other requests carry the path and a few bytes.
size_t request_body_bytes(const Step& step) {
  switch (op_of(step)) {
    case Op::kCreate:
      return 47 + step.path.size() + step.data.size();
    case Op::kSetData:
      return 20 + step.path.size() + step.data.size();
    case Op::kMulti: {
      size_t n = 16;
      for (const Step& o : step.ops) n += 16 + request_body_bytes(o);
      return n;
    }
    default:
      return 20 + step.path.size();
  }
}

// ---------------------------------------------------------------------------
// Run-time state shared with the C client's callbacks.

struct Event {
  std::string event;
  std::string path;
  int64_t t = 0;
};

struct Run;

// An ephemeral node a session created, as its create answer told.
struct Ephemeral {
  std::string path;
  int64_t czxid = 0;
};

struct SessionState {
  Run* run = nullptr;
  std::string name;
  zhandle_t* zh = nullptr;
  bool closed = false;
  int64_t client_id = 0;
  // Runner thread only: ephemerals this session created that may still exist
  // (explicit deletes are not tracked; a poll tells).
  std::vector<Ephemeral> ephemerals;
  // Guarded by mu (written by the C client's threads):
  std::mutex mu;
  std::condition_variable cv;
  int zk_state = 0;
  std::vector<Event> events;  // delivered and not yet written to the history
};

// One per watch registration: its address is the watcher context, so the C
// client keeps registrations apart (it merges equal (function, context)).
struct WatchContext {
  SessionState* session = nullptr;
};

// One per asynchronous request; `done` and the results are guarded by the
// session's mutex.
struct Pending {
  SessionState* session = nullptr;
  bool done = false;
  int rc = 0;
  size_t events_before = 0;  // session->events.size() when the answer ran
  int64_t t = 0;
  bool has_value = false;
  std::string value;  // created path or node data
  bool has_stat = false;
  ::Stat stat{};
  std::vector<std::string> children;
  // A multi's operations and results, which the C client fills until the answer runs.
  std::vector<zoo_op_t> ops;
  std::vector<zoo_op_result_t> results;
  std::vector<std::vector<char>> names;  // each create's buffer for its name
  std::vector<::Stat> stats;             // each set_data's stat
  // ACLs sent (their strings and entries live here until the answer has run), and getACL's.
  struct OwnedAcl {
    std::deque<std::string> strings;
    std::vector<::ACL> entries;
    ::ACL_vector vector{};
  };
  std::deque<OwnedAcl> acls;
  Acl acl_answer;
  // The C form of `acl` (kept in this pending request), or ZooKeeper's open ACL if none.
  ::ACL_vector* c_acl(const std::optional<Acl>& acl) {
    if (!acl) return &ZOO_OPEN_ACL_UNSAFE;
    OwnedAcl& o = acls.emplace_back();
    for (const AclEntry& e : *acl) {
      char* scheme = o.strings.emplace_back(e.scheme).data();
      char* id = o.strings.emplace_back(e.id).data();
      o.entries.push_back(::ACL{e.perms, ::Id{scheme, id}});
    }
    o.vector.count = static_cast<int32_t>(o.entries.size());
    o.vector.data = o.entries.data();
    return &o.vector;
  }
};

struct Run {
  Clock::time_point start = Clock::now();
  int64_t now_us() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  }
};

void drop_client_log(const char*) {}

void session_watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
  if (type != ZOO_SESSION_EVENT) return;  // only the default watcher's session events
  auto* s = static_cast<SessionState*>(ctx);
  std::lock_guard<std::mutex> lock(s->mu);
  s->zk_state = state;
  s->cv.notify_all();
}

const char* event_name(int type) {
  if (type == ZOO_CREATED_EVENT) return "NodeCreated";
  if (type == ZOO_DELETED_EVENT) return "NodeDeleted";
  if (type == ZOO_CHANGED_EVENT) return "NodeDataChanged";
  if (type == ZOO_CHILD_EVENT) return "NodeChildrenChanged";
  return nullptr;  // session and "not watching" events are not recorded
}

void registration_watcher(zhandle_t*, int type, int, const char* path, void* ctx) {
  const char* name = event_name(type);
  if (name == nullptr) return;
  SessionState* s = static_cast<WatchContext*>(ctx)->session;
  std::lock_guard<std::mutex> lock(s->mu);
  s->events.push_back(Event{name, path != nullptr ? path : "", s->run->now_us()});
  s->cv.notify_all();
}

template <typename Fill>
void complete(const void* data, int rc, Fill fill) {
  auto* p = static_cast<Pending*>(const_cast<void*>(data));
  SessionState* s = p->session;
  std::lock_guard<std::mutex> lock(s->mu);
  p->rc = rc;
  fill(p);
  p->events_before = s->events.size();
  p->t = s->run->now_us();
  p->done = true;
  s->cv.notify_all();
}

void void_done(int rc, const void* data) {
  complete(data, rc, [](Pending*) {});
}

void stat_done(int rc, const ::Stat* stat, const void* data) {
  complete(data, rc, [&](Pending* p) {
    if (rc == ZOK && stat != nullptr) {
      p->has_stat = true;
      p->stat = *stat;
    }
  });
}

void string_done(int rc, const char*, const void* data) {
  complete(data, rc, [](Pending*) {});
}

void string_stat_done(int rc, const char* value, const ::Stat* stat, const void* data) {
  complete(data, rc, [&](Pending* p) {
    if (rc != ZOK) return;
    if (value != nullptr) {
      p->has_value = true;
      p->value = value;
    }
    if (stat != nullptr) {
      p->has_stat = true;
      p->stat = *stat;
    }
  });
}

void data_done(int rc, const char* value, int value_len, const ::Stat* stat, const void* data) {
  complete(data, rc, [&](Pending* p) {
    if (rc != ZOK) return;
    p->has_value = true;
    if (value != nullptr && value_len > 0) p->value.assign(value, static_cast<size_t>(value_len));
    if (stat != nullptr) {
      p->has_stat = true;
      p->stat = *stat;
    }
  });
}

void acl_done(int rc, ::ACL_vector* acl, ::Stat* stat, const void* data) {
  complete(data, rc, [&](Pending* p) {
    if (rc != ZOK) return;
    if (acl != nullptr)
      for (int32_t i = 0; i < acl->count; ++i)
        p->acl_answer.push_back(
            AclEntry{acl->data[i].perms, acl->data[i].id.scheme, acl->data[i].id.id});
    if (stat != nullptr) {
      p->has_stat = true;
      p->stat = *stat;
    }
  });
}

void strings_stat_done(int rc, const String_vector* strings, const ::Stat* stat, const void* data) {
  complete(data, rc, [&](Pending* p) {
    if (rc != ZOK) return;
    if (strings != nullptr) {
      for (int32_t i = 0; i < strings->count; ++i) p->children.emplace_back(strings->data[i]);
    }
    if (stat != nullptr) {
      p->has_stat = true;
      p->stat = *stat;
    }
  });
}

// ---------------------------------------------------------------------------

class Runner {
 public:
  Runner(const Scenario& sc, std::string host_port, std::vector<json>* history)
      : sc_(sc), host_port_(std::move(host_port)), history_(history) {}

  ~Runner() {
    // Close the handles first: that joins the C client's threads, after
    // which no callback can touch the sessions, watch contexts or pendings.
    for (auto& s : sessions_) {
      if (s->zh != nullptr) zookeeper_close(s->zh);
      s->zh = nullptr;
    }
  }

  Status run() {
    zk_session_timeout_ms_ = static_cast<int>(
        std::max<int64_t>(sc_.config.session_timeout_ms, kMinZooKeeperSessionTimeoutMs));
    for (const std::string& name : sc_.sessions) {
      Result<std::unique_ptr<SessionState>> s = open_session(name);
      if (!s.is_ok()) return s.status();
      sessions_.push_back(std::move(s).value());
    }
    for (const Step& step : sc_.steps) {
      if (Status st = run_step(step); !st.is_ok())
        return prefixed("step " + std::to_string(step.index) + ": ", st);
    }
    // Close the sessions still open (no history lines) and wait until their
    // ephemerals are gone, so that a later run on the same server does not
    // see them.
    std::vector<SessionState*> closing;
    for (auto& s : sessions_) {
      if (s->closed) continue;
      close_session(s.get());
      closing.push_back(s.get());
    }
    if (Status st = await_ephemerals_gone(closing); !st.is_ok())
      return prefixed("after the last step: ", st);
    return Status::ok();
  }

 private:
  // Opens a session and waits until it is connected; an error if it does not
  // connect within kConnectTimeout.
  Result<std::unique_ptr<SessionState>> open_session(const std::string& name) {
    auto s = std::make_unique<SessionState>();
    s->run = &run_;
    s->name = name;
    SessionState* raw = s.get();
    raw->zh = zookeeper_init2(host_port_.c_str(), session_watcher, zk_session_timeout_ms_, nullptr,
                              raw, ZOO_NO_LOG_CLIENTENV, drop_client_log);
    if (raw->zh == nullptr)
      return Status(Code::SystemError, "zookeeper_init for session \"" + name + "\" failed");
    bool connected;
    {
      std::unique_lock<std::mutex> lock(raw->mu);
      connected = raw->cv.wait_for(lock, kConnectTimeout, [&] {
        return raw->zk_state == ZOO_CONNECTED_STATE || raw->zk_state < 0;  // < 0: unrecoverable
      });
      connected = connected && raw->zk_state == ZOO_CONNECTED_STATE;
    }
    if (!connected) {
      // Closing joins the client's threads: nothing refers to *raw afterwards.
      zookeeper_close(raw->zh);
      raw->zh = nullptr;
      return Status(Code::ConnectionLoss, "session \"" + name + "\" could not connect to " +
                                              host_port_ + " within " +
                                              std::to_string(kConnectTimeout.count()) + " s");
    }
    raw->client_id = zoo_client_id(raw->zh)->client_id;
    return s;
  }

  // Ends session `s` on the server. zookeeper_close() only queues a close
  // request and writes it to the socket; it does not wait for the server to
  // process it (and sends nothing while disconnected). So first wait
  // (bounded) until the handle is connected, so that the request is sent; the
  // server applies it later, see await_ephemerals_gone().
  int close_session(SessionState* s) {
    const auto deadline = Clock::now() + kOpTimeout;
    while (Clock::now() < deadline) {
      const int state = zoo_state(s->zh);
      if (state == ZOO_CONNECTED_STATE || state < 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const int rc = zookeeper_close(s->zh);  // joins the client threads
    s->zh = nullptr;
    s->closed = true;
    return rc;
  }

  // Waits until no ephemeral created by the (closed) sessions `closed` exists
  // any more, polling with exists() (no watch) from the first open session of
  // the scenario or, if none is open, from a temporary session that appears
  // in no history. Only then has the server applied the close: ZooKeeper
  // deletes a session's ephemerals in the closeSession transaction. A node
  // counts as gone when it is missing or has another czxid (deleted and
  // created again). A closed session's other effects are not observable, so
  // a session without ephemerals needs no wait.
  Status await_ephemerals_gone(const std::vector<SessionState*>& closed) {
    std::vector<std::pair<SessionState*, Ephemeral>> todo;
    for (SessionState* c : closed) {
      for (Ephemeral& e : c->ephemerals) todo.emplace_back(c, e);
      c->ephemerals.clear();
    }
    if (todo.empty()) return Status::ok();
    SessionState* observer = nullptr;
    for (auto& s : sessions_) {
      if (!s->closed) {
        observer = s.get();
        break;
      }
    }
    std::unique_ptr<SessionState> temporary;
    if (observer == nullptr) {
      Result<std::unique_ptr<SessionState>> opened = open_session("(temporary observer)");
      if (!opened.is_ok()) return opened.status();
      temporary = std::move(opened).value();
      observer = temporary.get();
    }
    Status status;
    const auto deadline = Clock::now() + kCloseTimeout;
    for (const auto& [owner_session, e] : todo) {
      while (true) {
        Pending* p = new_pending(observer);
        const int rc = zoo_aexists(observer->zh, e.path.c_str(), 0, stat_done, p);
        if (rc == ZOK && wait_for(p)) {
          if (p->rc == ZNONODE || (p->rc == ZOK && p->stat.czxid != e.czxid)) break;
        } else if (rc == ZINVALIDSTATE) {
          status = Status(Code::SessionExpired, "session \"" + observer->name +
                                                    "\" expired while waiting for session \"" +
                                                    owner_session->name + "\" to close");
          break;
        }
        if (Clock::now() >= deadline) {
          status =
              Status(Code::OperationTimeout, "ephemeral " + e.path + " of closed session \"" +
                                                 owner_session->name + "\" still exists after " +
                                                 std::to_string(kCloseTimeout.count()) + " s");
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (!status.is_ok()) break;
    }
    if (temporary != nullptr) {
      zookeeper_close(temporary->zh);  // joins its threads: no callback uses it afterwards
      temporary->zh = nullptr;
    }
    return status;
  }

  Pending* new_pending(SessionState* s) {
    pendings_.push_back(std::make_unique<Pending>());
    pendings_.back()->session = s;
    return pendings_.back().get();
  }

  WatchContext* new_watch(SessionState* s) {
    watches_.push_back(std::make_unique<WatchContext>());
    watches_.back()->session = s;
    return watches_.back().get();
  }

  bool wait_for(Pending* p) {
    SessionState* s = p->session;
    std::unique_lock<std::mutex> lock(s->mu);
    return s->cv.wait_for(lock, kOpTimeout, [&] { return p->done; });
  }

  void emit(json line, int64_t t) {
    last_t_ = std::max(last_t_, t);
    line["t"] = last_t_;
    history_->push_back(std::move(line));
  }

  void emit_events(SessionState* s, std::vector<Event> events) {
    for (Event& e : events) {
      emit(json{{"kind", "watch"}, {"session", s->name}, {"event", e.event}, {"path", e.path}},
           e.t);
    }
  }

  // Removes and returns the first `count` (all if npos) undelivered events.
  std::vector<Event> take_events(SessionState* s, size_t count = std::string::npos) {
    std::lock_guard<std::mutex> lock(s->mu);
    count = std::min(count, s->events.size());
    std::vector<Event> out(std::make_move_iterator(s->events.begin()),
                           std::make_move_iterator(s->events.begin() + count));
    s->events.erase(s->events.begin(), s->events.begin() + count);
    return out;
  }

  json owner(int64_t id) const {
    if (id == 0) return nullptr;
    for (const auto& s : sessions_) {
      if (s->client_id == id) return s->name;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(id));
    return buf;
  }

  // The C client's stat in the history's form (core/model/stat.h), its owner a session name.
  json stat_json(const ::Stat& st) const {
    fkemu::Stat s;
    s.czxid = st.czxid;
    s.mzxid = st.mzxid;
    s.pzxid = st.pzxid;
    s.ctime = st.ctime;
    s.mtime = st.mtime;
    s.version = st.version;
    s.cversion = st.cversion;
    s.aversion = st.aversion;
    const json who = owner(st.ephemeralOwner);
    if (!who.is_null()) s.ephemeral_owner = who.get<std::string>();
    s.data_length = st.dataLength;
    s.num_children = st.numChildren;
    return stat_to_json(s);
  }

  // Waits until every event the last step caused is delivered to `s`.
  Status barrier(SessionState* s) {
    const auto deadline = Clock::now() + kOpTimeout;
    while (Clock::now() < deadline) {
      Pending* sync = new_pending(s);
      Pending* read = new_pending(s);
      int rc = zoo_async(s->zh, "/", string_done, sync);
      if (rc == ZOK) rc = zoo_aexists(s->zh, "/", 0, stat_done, read);
      if (rc == ZINVALIDSTATE) return Status::ok();  // expired: nothing more can arrive
      if (rc == ZOK) {
        if (!wait_for(read)) break;
        if (read->rc == ZOK) return Status::ok();
        if (read->rc != ZCONNECTIONLOSS && read->rc != ZOPERATIONTIMEOUT) {
          return Status(Code::SystemError, "barrier exists(\"/\") on session \"" + s->name +
                                               "\" answered " + zookeeper_error_name(read->rc));
        }
      }
      // Connection lost (e.g. after an oversized request): the client
      // reconnects within the session; try again.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Status(Code::OperationTimeout, "barrier on session \"" + s->name + "\" timed out");
  }

  Status barrier_all() {
    for (auto& s : sessions_) {
      if (s->closed) continue;
      if (Status st = barrier(s.get()); !st.is_ok()) return st;
    }
    return Status::ok();
  }

  void emit_others(const SessionState* acting) {
    for (auto& s : sessions_) {
      if (s.get() != acting) emit_events(s.get(), take_events(s.get()));
    }
  }

  Status run_step(const Step& step) {
    const Op op = op_of(step);
    if (op == Op::kWait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(step.wait_ms, kMaxWaitMs)));
      if (Status st = barrier_all(); !st.is_ok()) return st;
      emit_others(nullptr);
      return Status::ok();
    }
    SessionState* s = session_named(step.session);
    const int64_t id = ++next_id_;
    json invoke = invoke_fields(sc_, step);
    invoke["kind"] = "invoke";
    invoke["id"] = id;
    emit(std::move(invoke), run_.now_us());

    json answer = {{"kind", "ok"}, {"id", id}, {"session", s->name}};
    auto set_error = [&](int rc) {
      // An expired handle refuses calls with ZINVALIDSTATE; clients see that
      // as SessionExpired.
      if (rc == ZINVALIDSTATE && s->zh != nullptr &&
          zoo_state(s->zh) == ZOO_EXPIRED_SESSION_STATE) {
        rc = ZSESSIONEXPIRED;
      }
      answer["kind"] = "error";
      answer["error"] = zookeeper_error_name(rc);
    };
    int64_t answer_t = 0;
    size_t before = 0;

    if (s->closed) {
      // The client's own path check comes first, as for an open session (the Java client,
      // too, checks the path before it finds its connection closed).
      if (op == Op::kAddAuth) {
        set_error(ZSESSIONEXPIRED);
      } else if (op == Op::kMulti) {
        const int bad = multi_client_error(step);
        set_error(bad >= 0 ? ZBADARGUMENTS : ZSESSIONEXPIRED);
        if (bad >= 0) answer["failed_op"] = bad;
      } else if (op != Op::kClose) {
        set_error(validate_client_path(step.path, op == Op::kCreate && step.sequential).is_ok()
                      ? ZSESSIONEXPIRED
                      : ZBADARGUMENTS);
      }
      answer_t = run_.now_us();
    } else if (op == Op::kClose) {
      const int rc = close_session(s);
      if (rc != ZOK) set_error(rc);
      answer_t = run_.now_us();
      before = std::string::npos;  // everything it received came first
      // The barrier below only covers what the server applied before the
      // other sessions' sync: wait for the close itself first.
      if (Status st = await_ephemerals_gone({s}); !st.is_ok()) return st;
    } else if (op == Op::kMulti && multi_client_error(step) >= 0) {
      // Each operation's path by the Java client's rule, before anything is sent.
      set_error(ZBADARGUMENTS);
      answer["failed_op"] = multi_client_error(step);
      answer_t = run_.now_us();
    } else if (op != Op::kMulti && op != Op::kAddAuth &&
               !validate_client_path(step.path, op == Op::kCreate && step.sequential).is_ok()) {
      // The Java client's path rule, which fkemu's client applies (docs/decisions.md); the C
      // client would send what it does not check itself (U+007F, say) and the server would
      // answer a read of it with NoNode.
      set_error(ZBADARGUMENTS);
      answer_t = run_.now_us();
    } else {
      Pending* p = new_pending(s);
      WatchContext* w = step.watch ? new_watch(s) : nullptr;
      watcher_fn wfn = step.watch ? registration_watcher : nullptr;
      const char* path = step.path.c_str();
      const int len = static_cast<int>(step.data.size());
      int rc = ZOK;
      switch (op) {
        case Op::kCreate:
          rc = zoo_acreate2(s->zh, path, step.data.data(), len, p->c_acl(step.acl),
                            create_mode(step), string_stat_done, p);
          break;
        case Op::kGetData:
          rc = zoo_awget(s->zh, path, wfn, w, data_done, p);
          break;
        case Op::kExists:
          rc = zoo_awexists(s->zh, path, wfn, w, stat_done, p);
          break;
        case Op::kGetChildren:
          rc = zoo_awget_children2(s->zh, path, wfn, w, strings_stat_done, p);
          break;
        case Op::kSetData:
          rc = zoo_aset(s->zh, path, step.data.data(), len, step.version, stat_done, p);
          break;
        case Op::kDelete:
          rc = zoo_adelete(s->zh, path, step.version, void_done, p);
          break;
        case Op::kMulti:
          rc = start_multi(s->zh, step, p);
          break;
        case Op::kAddAuth:
          rc = zoo_add_auth(s->zh, step.scheme.c_str(), step.auth.data(),
                            static_cast<int>(step.auth.size()), void_done, p);
          break;
        case Op::kSetAcl:
          rc = zoo_aset_acl(s->zh, path, step.version, p->c_acl(step.acl), void_done, p);
          break;
        case Op::kGetAcl:
          rc = zoo_aget_acl(s->zh, path, acl_done, p);
          break;
        default:
          return Status(Code::SystemError, "internal: unexpected op");
      }
      if (rc != ZOK) {  // refused by the client library: nothing was sent
        set_error(rc);
        answer_t = run_.now_us();
        std::lock_guard<std::mutex> lock(s->mu);
        before = s->events.size();
      } else {
        if (!wait_for(p)) {
          return Status(Code::OperationTimeout, "no answer from ZooKeeper within " +
                                                    std::to_string(kOpTimeout.count()) + " s");
        }
        if ((p->rc == ZCONNECTIONLOSS || p->rc == ZOPERATIONTIMEOUT) &&
            request_body_bytes(step) <= kJuteMaxBuffer) {
          // Only an oversized request makes ZooKeeper drop the connection;
          // otherwise the server or this process stalled and the request may
          // or may not have been applied: not an answer to record.
          return Status(Code::ConnectionLoss,
                        "session \"" + s->name + "\" lost its connection (" +
                            zookeeper_error_name(p->rc) + ") during a " +
                            std::to_string(request_body_bytes(step)) +
                            "-byte request: ZooKeeper or this process stalled for more "
                            "than 2/3 of the session timeout");
        }
        answer_t = p->t;
        before = p->events_before;
        fill_answer(op, *p, &answer, set_error);
        if (op == Op::kMulti && p->rc != ZOK)  // the operation that failed: the first result
          for (size_t i = 0; i < p->results.size(); ++i)  // neither ok nor rolled back
            if (p->results[i].err != ZOK && p->results[i].err != ZRUNTIMEINCONSISTENCY) {
              answer["failed_op"] = static_cast<int>(i);
              break;
            }
        if (op == Op::kCreate && p->rc == ZOK && p->has_stat &&
            p->stat.ephemeralOwner == s->client_id && s->client_id != 0) {
          s->ephemerals.push_back(Ephemeral{p->value, p->stat.czxid});
        }
      }
    }

    emit_events(s, take_events(s, before));
    emit(std::move(answer), answer_t);
    if (Status st = barrier_all(); !st.is_ok()) return st;
    emit_events(s, take_events(s));
    emit_others(s);
    return Status::ok();
  }

  // The scenario's session `name` (the loader checked that it is declared).
  SessionState* session_named(const std::string& name) {
    for (auto& s : sessions_) {
      if (s->name == name) return s.get();
    }
    throw std::logic_error("session \"" + name + "\" is not in \"sessions\"");
  }

  template <typename SetError>
  void fill_answer(Op op, const Pending& p, json* answer, SetError set_error) {
    if (op == Op::kExists && p.rc == ZNONODE) {
      (*answer)["stat"] = nullptr;
      return;
    }
    if (p.rc != ZOK) {
      set_error(p.rc);
      return;
    }
    switch (op) {
      case Op::kCreate:
        (*answer)["path"] = p.value;
        if (p.has_stat) (*answer)["stat"] = stat_json(p.stat);
        break;
      case Op::kGetData:
        put_data_field(p.value, "data", "data_b64", *answer);
        (*answer)["stat"] = stat_json(p.stat);
        break;
      case Op::kGetChildren: {
        std::vector<std::string> children = p.children;
        std::sort(children.begin(), children.end());
        (*answer)["children"] = children;
        (*answer)["stat"] = stat_json(p.stat);
        break;
      }
      case Op::kExists:
      case Op::kSetData:
        (*answer)["stat"] = stat_json(p.stat);
        break;
      case Op::kGetAcl:
        (*answer)["acl"] = acl_json(p.acl_answer);
        (*answer)["stat"] = stat_json(p.stat);
        break;
      case Op::kMulti: {
        json rs = json::array();
        for (size_t i = 0; i < p.ops.size(); ++i) {
          const zoo_op_t& o = p.ops[i];
          json one;
          switch (o.type) {
            case ZOO_CREATE_OP:
              one = {{"op", "create"}, {"path", std::string(p.names[i].data())}};
              break;
            case ZOO_DELETE_OP:
              one = {{"op", "delete"}};
              break;
            case ZOO_SETDATA_OP:
              one = {{"op", "set_data"}, {"stat", stat_json(p.stats[i])}};
              break;
            default:
              one = {{"op", "check"}};
              break;
          }
          rs.push_back(std::move(one));
        }
        if (!rs.empty()) (*answer)["results"] = std::move(rs);
        break;
      }
      default:
        break;
    }
  }

  // The first operation of a multi whose path the Java client refuses; -1 if none.
  static int multi_client_error(const Step& step) {
    for (size_t i = 0; i < step.ops.size(); ++i) {
      const Step& o = step.ops[i];
      if (!validate_client_path(o.path, o.op == "create" && o.sequential).is_ok() ||
          (o.op == "delete" && o.path == "/"))
        return static_cast<int>(i);
    }
    return -1;
  }

  // Sends a multi; its buffers live in `p` until the answer has run.
  static int start_multi(zhandle_t* zh, const Step& step, Pending* p) {
    const size_t n = step.ops.size();
    p->ops.resize(n);
    p->results.assign(n, zoo_op_result_t{});
    p->names.resize(n);
    p->stats.assign(n, ::Stat{});
    for (size_t i = 0; i < n; ++i) {
      const Step& o = step.ops[i];
      const int len = static_cast<int>(o.data.size());
      if (o.op == "create") {
        p->names[i].assign(o.path.size() + 16, '\0');
        zoo_create_op_init(&p->ops[i], o.path.c_str(), o.data.data(), len, p->c_acl(o.acl),
                           create_mode(o), p->names[i].data(),
                           static_cast<int>(p->names[i].size()));
      } else if (o.op == "delete") {
        zoo_delete_op_init(&p->ops[i], o.path.c_str(), o.version);
      } else if (o.op == "set_data") {
        zoo_set_op_init(&p->ops[i], o.path.c_str(), o.data.data(), len, o.version, &p->stats[i]);
      } else {
        zoo_check_op_init(&p->ops[i], o.path.c_str(), o.version);
      }
    }
    if (n == 0) {  // the C client does not send an empty multi: answer it here, as ZooKeeper
      complete(p, ZOK, [](Pending*) {});
      return ZOK;
    }
    return zoo_amulti(zh, static_cast<int>(n), p->ops.data(), p->results.data(), void_done, p);
  }

  const Scenario& sc_;
  const std::string host_port_;
  std::vector<json>* history_;
  Run run_;
  int zk_session_timeout_ms_ = kMinZooKeeperSessionTimeoutMs;
  int64_t next_id_ = 0;
  int64_t last_t_ = 0;
  // Owned here, freed only after the destructor closed every handle.
  std::deque<std::unique_ptr<SessionState>> sessions_;
  std::deque<std::unique_ptr<WatchContext>> watches_;
  std::deque<std::unique_ptr<Pending>> pendings_;
};

}  // namespace

std::string zookeeper_error_name(int rc) {
  switch (rc) {
    case ZOK:
      return "Ok";
    case ZSYSTEMERROR:
      return "SystemError";
    case ZRUNTIMEINCONSISTENCY:
      return "RuntimeInconsistency";
    case ZDATAINCONSISTENCY:
      return "DataInconsistency";
    case ZCONNECTIONLOSS:
      return "ConnectionLoss";
    case ZMARSHALLINGERROR:
      return "MarshallingError";
    case ZUNIMPLEMENTED:
      return "Unimplemented";
    case ZOPERATIONTIMEOUT:
      return "OperationTimeout";
    case ZBADARGUMENTS:
      return "BadArguments";
    case ZINVALIDSTATE:
      return "InvalidState";
    case ZNEWCONFIGNOQUORUM:
      return "NewConfigNoQuorum";
    case ZRECONFIGINPROGRESS:
      return "ReconfigInProgress";
    case ZSSLCONNECTIONERROR:
      return "SSLConnectionError";
    case ZAPIERROR:
      return "APIError";
    case ZNONODE:
      return "NoNode";
    case ZNOAUTH:
      return "NoAuth";
    case ZBADVERSION:
      return "BadVersion";
    case ZNOCHILDRENFOREPHEMERALS:
      return "NoChildrenForEphemerals";
    case ZNODEEXISTS:
      return "NodeExists";
    case ZNOTEMPTY:
      return "NotEmpty";
    case ZSESSIONEXPIRED:
      return "SessionExpired";
    case ZINVALIDCALLBACK:
      return "InvalidCallback";
    case ZINVALIDACL:
      return "InvalidACL";
    case ZAUTHFAILED:
      return "AuthFailed";
    case ZCLOSING:
      return "Closing";
    case ZNOTHING:
      return "Nothing";
    case ZSESSIONMOVED:
      return "SessionMoved";
    case ZNOTREADONLY:
      return "NotReadOnly";
    case ZEPHEMERALONLOCALSESSION:
      return "EphemeralOnLocalSession";
    case ZNOWATCHER:
      return "NoWatcher";
    case ZRECONFIGDISABLED:
      return "ReconfigDisabled";
    case ZSESSIONCLOSEDREQUIRESASLAUTH:
      return "SessionClosedRequireSaslAuth";
    case ZTHROTTLEDOP:
      return "Throttled";
    default:
      return "ZooKeeperError(" + std::to_string(rc) + ")";
  }
}

Status scenario_comparable_with_zookeeper(const Scenario& scenario) {
  auto refuse = [](const std::string& reason) {
    return Status(Code::BadArguments, "scenario is not comparable with ZooKeeper: " + reason);
  };
  if (scenario.mode != ScenarioMode::Sequential)
    return refuse("mode \"concurrent\" (only \"sequential\" is)");
  for (const Step& step : scenario.steps) {
    if (!step.is_wait && step.op == "expire") {
      return refuse("step " + std::to_string(step.index) +
                    " is \"expire\", which cannot be caused on a real ZooKeeper");
    }
    if (!step.is_wait && step.op == "add_watch")
      return refuse("step " + std::to_string(step.index) +
                    " is \"add_watch\", which ZooKeeper 3.8's C client does not have");
    bool ttl = step.ttl_ms.has_value();
    for (const Step& o : step.ops) ttl = ttl || o.ttl_ms.has_value();
    if (ttl)
      return refuse("step " + std::to_string(step.index) +
                    " creates a TTL node, which a ZooKeeper of the default configuration "
                    "refuses and one with extended types deletes on its own timer (decision 53)");
    bool container = step.container;
    for (const Step& o : step.ops) container = container || o.container;
    if (container)
      return refuse("step " + std::to_string(step.index) +
                    " creates a container, which ZooKeeper's container manager deletes up to a "
                    "minute later, fkemu at once (decision 48)");
  }
  return Status::ok();
}

namespace {

// Deletes the subtree under `path` (not `path` itself), children first.
int delete_children(zhandle_t* zh, const std::string& path) {
  String_vector children{};
  int rc = zoo_get_children(zh, path.c_str(), 0, &children);
  if (rc == ZNONODE) return ZOK;
  if (rc != ZOK) return rc;
  std::vector<std::string> names(children.data, children.data + children.count);
  deallocate_String_vector(&children);
  for (const std::string& name : names) {
    const std::string child = path == "/" ? "/" + name : path + "/" + name;
    if (child == "/zookeeper") continue;
    if ((rc = delete_children(zh, child)) != ZOK) return rc;
    rc = zoo_delete(zh, child.c_str(), -1);
    if (rc != ZOK && rc != ZNONODE) return rc;
  }
  return ZOK;
}

}  // namespace

Status clear_zookeeper_tree(const std::string& host_port) {
  SessionState s;
  Run run;
  s.run = &run;
  s.zh = zookeeper_init2(host_port.c_str(), session_watcher, 30000, nullptr, &s,
                         ZOO_NO_LOG_CLIENTENV, drop_client_log);
  if (s.zh == nullptr)
    return Status(Code::SystemError, "zookeeper_init to " + host_port + " failed");
  bool connected;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    connected = s.cv.wait_for(lock, kConnectTimeout,
                              [&] { return s.zk_state == ZOO_CONNECTED_STATE || s.zk_state < 0; });
    connected = connected && s.zk_state == ZOO_CONNECTED_STATE;
  }
  // As the super user of the servers ZooKeeperServer starts (nodes may have ACLs); an addauth
  // is applied before the requests after it.
  if (connected)
    zoo_add_auth(s.zh, "digest", kZooKeeperSuperUser,
                 static_cast<int>(std::strlen(kZooKeeperSuperUser)), nullptr, nullptr);
  const int rc = connected ? delete_children(s.zh, "/") : ZOK;
  zookeeper_close(s.zh);  // joins the client's threads
  s.zh = nullptr;
  if (!connected) return Status(Code::ConnectionLoss, "could not connect to " + host_port);
  if (rc != ZOK) return Status(Code::SystemError, "clearing the tree: " + zookeeper_error_name(rc));
  return Status::ok();
}

ZkRunResult run_scenario_on_zookeeper(const Scenario& scenario, const std::string& host_port) {
  ZkRunResult result;
  result.status = scenario_comparable_with_zookeeper(scenario);
  if (!result.status.is_ok()) return result;
  {
    Runner runner(scenario, host_port, &result.history);
    result.status = runner.run();
  }  // the handles are closed here
  return result;
}

}  // namespace fkemu::zkref
