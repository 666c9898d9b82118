// The remote sessions of fkemu serve. Each has a client library in the service (ClientSession)
// that answers the service's pings only while the remote client shows signs of life (seen()), so
// that a client that goes away has its session expire as in FaaSKeeper. The registry makes their
// ids and secrets, finds them, holds the watch events of a session with no WebSocket open, and
// forgets a session once it is closed and done; the ids and secrets of the last forgotten ones are
// kept as tombstones, so that their requests answer as a closed session's.
//
// It guarantees that a session's client is only used while the registry holds the session, and
// that it holds at most max_sessions (open ones, and closed ones not yet forgotten; the caller
// checks full() before open()). Used on the server's I/O thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/protocol/client_session.h"
#include "core/status.h"

namespace fkemu {

class ExecutorLoop;

// Hex of `bytes` bytes from the kernel's CSPRNG: session ids, secrets, admin tokens.
std::string random_hex(size_t bytes);
// Lower-case hex of raw bytes, and back (a ZooKeeper client's password is the secret's bytes).
std::string to_hex(std::string_view raw);
std::string from_hex(std::string_view hex);
// SHA-1 of `data`: 20 raw bytes.

// The key sessions' secrets derive from: for a state file, the one in STATE.session-key (made,
// mode 0600, if there is none), so that a restarted server knows its sessions' secrets; in
// memory, a new one. An error names the file it cannot read or write.
Result<std::string> session_key(const std::string& state_file);

// Where a session's watch events go: a WebSocket of it (ws_session.h), or the connection of a
// ZooKeeper client (zk_session.h).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual bool open() const = 0;
  // A message of the API's own (JSON text).
  virtual void send(std::string text) = 0;
  // A watch event; by default sent as the API's JSON message.
  virtual void watch(const WatchedEvent& event);
  virtual void close() = 0;
};

// The API's JSON message of a watch event (docs/api.md).
std::string watch_message(const WatchedEvent& event);

// One remote client's session.
struct RemoteSession {
  std::string id, secret;
  ClientSession* client = nullptr;  // the service's, valid while the registry holds the session
  Time last_seen = 0;
  std::vector<std::weak_ptr<EventSink>> sockets;
  std::deque<std::string> backlog;  // watch events while no WebSocket is open
  uint64_t dropped = 0;             // events the backlog had no room for
  bool connected = false;           // the session is registered in the service
  // A ZooKeeper client's (zk_session.h): its id is "z" and 16 hex digits (the 64-bit session
  // id), its secret 32 (the 16-byte password); events that find no connection are dropped, as
  // a ZooKeeper client sets its watches again when it reconnects.
  bool zookeeper = false;
  size_t inflight = 0;  // operations not yet answered
};

struct RegistryOptions {
  size_t max_sessions = 100000;
  size_t max_backlog_events = 10000;
  size_t remembered_closed_sessions = 10000;
};

class SessionRegistry {
 public:
  // Called with the id, the secret and the outcome of a new session's connect, after the loop
  // turn that connected it.
  using Connected = std::function<void(const std::string& id, const std::string& secret, Status)>;

  SessionRegistry(boost::asio::io_context& ioc, ExecutorLoop& loop, RegistryOptions options);
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  // The key a session's secret is derived from (HMAC-SHA1 of its id), which a durable server
  // keeps beside its state file (session_key()). Without one, secrets are random.
  void set_secret_key(std::string key) { key_ = std::move(key); }
  // A session a server that restarted on its state file does not hold but the system store
  // does (alive): taken up again if `secret` is the one its id gives. Null otherwise.
  std::shared_ptr<RemoteSession> recover(const std::string& id, const std::string& secret);

  bool full() const { return remotes_.size() >= opt_.max_sessions; }
  // Sessions held, and of them those not closed.
  size_t size() const { return remotes_.size(); }
  size_t open_count() const;
  // The last open session in id order, or null (for fuzzing).
  std::shared_ptr<RemoteSession> any_open() const;

  // A new session with a fresh id and secret, connecting to the service: the API's, or
  // (`zookeeper`) a ZooKeeper client's with its negotiated timeout.
  std::shared_ptr<RemoteSession> open(Connected connected, bool zookeeper = false,
                                      Duration timeout = 0);
  std::shared_ptr<RemoteSession> find(const std::string& id) const;
  // Whether `r` is still held (a reset drops every session).
  bool holds(const RemoteSession& r) const;
  // The secret of a session forgotten after it closed (null if it is held, or unknown).
  const std::string* forgotten_secret(const std::string& id) const;

  // A sign of life of r's client.
  void seen(RemoteSession& r);
  // A WebSocket of r is open: it gets the events r missed, then every new one.
  void attach(RemoteSession& r, const std::shared_ptr<EventSink>& socket);
  size_t open_sockets(const RemoteSession& r) const;

  // Forgets the sessions that are closed and done; now, soon (after what runs now), and once a
  // second until stop().
  void sweep();
  void sweep_soon();
  void sweep_every_second();
  void stop();
  // Drops every session, tombstone and count (a reset); their WebSockets are closed.
  void clear();

  uint64_t sessions_opened() const { return sessions_opened_; }
  uint64_t watches_delivered() const { return watches_delivered_; }

 private:
  void on_event(RemoteSession& r, const WatchedEvent& event);
  // The secret of a session id: HMAC-SHA1 under the key, as hex of `bytes` bytes.
  std::string secret_for(const std::string& id, size_t bytes) const;
  // Hooks a new RemoteSession to its client library and holds it.
  void hold(const std::shared_ptr<RemoteSession>& r, ClientSession& c);
  void deliver(RemoteSession& r, const WatchedEvent& event);
  bool forgettable(const RemoteSession& r) const;
  static void close_sockets(RemoteSession& r);

  boost::asio::io_context& ioc_;
  ExecutorLoop& loop_;
  RegistryOptions opt_;
  boost::asio::steady_timer sweep_timer_;
  std::string key_;
  std::map<std::string, std::shared_ptr<RemoteSession>> remotes_;
  std::map<std::string, std::string> closed_ids_;  // forgotten closed sessions: id -> secret
  std::deque<std::string> closed_order_;
  uint64_t sessions_opened_ = 0;
  uint64_t watches_delivered_ = 0;
};

}  // namespace fkemu
