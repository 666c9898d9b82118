// The ZooKeeper listener of fkemu serve (`--zookeeper HOST:PORT`): ZooKeeper 3.8's client
// protocol (jute.h) over TCP, in front of the same deployment, sessions and state as the HTTP
// API. A ZooKeeper client's session is a FaaSKeeper session like an HTTP client's: its
// operations go through the session's client library (the writer queue, the distributor, the
// user store), its pings are its signs of life, and it expires when FaaSKeeper's heartbeat
// function finds it quiet for its timeout, not on a timer of this server.
//
// One ZkSession per connection:
//   * the first frame is a ConnectRequest (a new session, or an existing one with its id and
//     password), or a four-letter word (ruok, srvr, stat, envi, conf, cons, mntr, wchs,
//     answered in ZooKeeper's format, then the connection closes);
//   * then requests, answered in request order (ZooKeeper's clients check the xids), each
//     reply header carrying the zxid the client has seen up to;
//   * watch events are written as they come, except an event on a path that a watch read still
//     unanswered on this connection registers: it follows that read's answer, so that the
//     client knows the watch before its event (docs/zookeeper-protocol.md).
// An operation fkemu does not implement answers ZUNIMPLEMENTED and is counted by name
// (`mntr`, /admin/counters). A malformed frame closes the connection with a log line, as
// ZooKeeper's server does.
//
// Used on the server's I/O thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "apps/server/connection.h"
#include "apps/server/jute.h"
#include "apps/server/session_registry.h"
#include "core/model/stat.h"
#include "core/protocol/client_session.h"

namespace fkemu {

class ExecutorLoop;
class ZkSession;

// What every ZooKeeper connection shares, and what the four-letter words report.
struct ZkServerState {
  ZkServerState(ExecutorLoop& l, SessionRegistry& s, ThrottledLog& g, DeploymentConfig c)
      : loop(l), sessions(s), log(g), config(std::move(c)) {}
  ExecutorLoop& loop;
  SessionRegistry& sessions;
  ThrottledLog& log;
  DeploymentConfig config;
  uint16_t port = 0;
  std::string data_path;
  std::string super_digest;  // ServerOptions::zookeeper_super_digest
  size_t max_frame_bytes = 0;
  // A stat's times are milliseconds of the deployment's clock; ZooKeeper's clients expect the
  // Unix epoch's: the difference, taken when the server starts.
  int64_t epoch_offset_ms = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Counters (mntr, /admin/counters).
  uint64_t connections_accepted = 0;
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t malformed = 0;
  std::map<std::string, uint64_t> unimplemented;  // by operation name
  std::vector<std::weak_ptr<ZkSession>> open;     // for cons, stat and wchs

  int64_t tick_ms() const;
  int64_t min_timeout_ms() const { return 2 * tick_ms(); }
  int64_t max_timeout_ms() const { return 20 * tick_ms(); }
  // The zxid of the last update the deployment has applied (the distributor's progress).
  int64_t last_zxid() const;
  // For /admin/counters: connections, packets, malformed frames, unimplemented requests.
  nlohmann::json counters() const;
};

// The 64-bit id ZooKeeper's clients know a session by: a ZooKeeper client's own id, or, for a
// session of the HTTP API (a stat's ephemeralOwner), a hash of its name.
int64_t zookeeper_session_id(std::string_view session_name);

class ZkSession : public EventSink, public std::enable_shared_from_this<ZkSession> {
 public:
  ZkSession(boost::asio::ip::tcp::socket socket, ZkServerState& server, ConnectionSlot slot);
  ~ZkSession() override;
  void start();

  // EventSink
  bool open() const override { return !closing_; }
  void send(std::string) override {}  // the API's own messages do not go to ZooKeeper clients
  void watch(const WatchedEvent& event) override;
  void close() override;

  // For cons and stat.
  std::string describe(bool full) const;
  const std::shared_ptr<RemoteSession>& remote() const { return remote_; }

 private:
  // A request's place in the answer order.
  struct Slot {
    bool done = false;
    std::string frame;
    std::string watch_path;  // a watch read's path: its events wait for this answer
    int watch_kind = 0;      // 0 none, 1 data (getData, exists), 2 children
    // An answer made when every earlier one is out (it reads what they changed).
    std::function<std::string()> compute;
  };
  struct HeldEvent {
    uint64_t after;  // the slot whose answer it follows
    std::string frame;
  };

  static constexpr size_t kMaxOutstanding = 128;
  static constexpr size_t kMaxUnsentBytes = 4 * 1024 * 1024;
  bool too_busy() const;
  // Reads the next frame unless one is being read or the client must wait (back pressure).
  void read_more();
  void read_length();
  void read_body(size_t n);
  void on_frame(const std::string& body);
  void on_connect(const std::string& body);
  void on_request(const std::string& body);
  void four_letter(std::string_view word);
  void connected(const std::shared_ptr<RemoteSession>& r, int32_t timeout_ms);
  void refuse_session();
  static Acl read_acl(jute::Reader& in);
  // The client's address without the port.
  std::string peer_host() const { return peer_.substr(0, peer_.rfind(':')); }
  struct ZkCreate {
    CreateRequest request;
    int32_t flags = 0;
    bool ttl_mode = false;  // mode 5 or 6: a TTL node
  };
  // `in_multi`: one of a multi's operations (ZooKeeper reads a createTTL there differently).
  ZkCreate read_create(jute::Reader& in, int32_t type, bool in_multi) const;
  void fail(const std::string& why);

  // Opens an answer slot for the next request; complete() fills it.
  uint64_t open_slot(std::string watch_path = {}, int watch_kind = 0);
  // A slot whose answer (header and body) is made once the answers before it are out.
  void answer_in_turn(int32_t xid, std::function<std::pair<int32_t, std::string>()> answer);
  void complete(uint64_t slot, std::string frame);
  void reply(uint64_t slot, int32_t xid, int32_t err, const std::string& body = {});
  void flush();
  void write(std::string frame);
  void write_next();
  void close_after_writes();
  void close_if_done();

  // Runs a client-library operation and hands its result to `answer` on the I/O thread, after
  // the turn's commit, with the reply zxid raised by it; the session counts it as under way.
  template <class F>
  void then(const std::string& name, Task<OpResult> op, F answer);
  // then(), answering the reply `body` makes of the result, or its error code.
  void run(uint64_t slot, int32_t xid, const std::string& name, Task<OpResult> op,
           std::function<std::string(const OpResult&)> body);
  // A setWatches request's paths, per kind of watch.
  struct WatchLists {
    std::vector<std::string> data, exist, child, persistent, recursive;
  };
  void set_watches(uint64_t slot, int32_t xid, int64_t relative_zxid, WatchLists lists);
  void unimplemented(uint64_t slot, int32_t xid, int32_t type);
  void multi_read(uint64_t slot, int32_t xid, jute::Reader& in);
  void multi(uint64_t slot, int32_t xid, jute::Reader& in);
  void all_children_number(uint64_t slot, int32_t xid, std::string path);
  std::pair<int32_t, std::string> ephemerals(const std::string& prefix) const;
  int64_t reply_zxid(const OpResult* r);
  std::string stat_body(const Stat& s) const;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer handshake_timer_;  // a connection that never connects is closed
  ZkServerState& server_;
  ConnectionSlot slot_;
  std::string peer_;
  std::shared_ptr<RemoteSession> remote_;
  std::string header_;  // 4 bytes of length
  std::string body_;
  bool first_ = true;
  bool closing_ = false;
  bool close_when_written_ = false;
  bool closing_session_ = false;  // closeSession was asked for
  bool read_only_flag_ = false;   // the ConnectRequest had the readOnly flag
  // The connection's identities (whoAmI): its address, then what addauth added; the client
  // library has the same (ClientSession::use_identities).
  std::vector<Identity> identities_;
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;  // a read is under way
  bool paused_ = false;   // reading waits for answers to drain
  std::deque<Slot> slots_;
  uint64_t first_slot_ = 0;  // the number of slots_.front()
  std::vector<HeldEvent> held_;
  int64_t last_zxid_ = 0;    // the highest zxid answered on this connection
  int64_t client_zxid_ = 0;  // the last zxid the client had seen when it connected
  int64_t sent_zxid_ = 0;    // the highest zxid a reply header has carried
  uint64_t received_ = 0, sent_ = 0;
  int32_t timeout_ms_ = 0;
  int32_t last_cxid_ = 0;
  // The events sent for the zxid of the last one (one per change: watch()): their triggers,
  // their kinds and paths, and those of the events without a trigger.
  int64_t sent_event_zxid_ = -1;
  std::set<int64_t> sent_triggers_;
  std::set<std::pair<EventType, std::string>> sent_events_, sent_untriggered_;
  std::string last_op_ = "NA";
  std::chrono::system_clock::time_point established_ = std::chrono::system_clock::now();
};

}  // namespace fkemu
