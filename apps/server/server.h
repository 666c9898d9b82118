// fkemu serve: a FaaSKeeper deployment for offline development, behind an HTTP and WebSocket
// API (docs/api.md). This header is the server's whole public API; Server::run() blocks the
// calling thread, which becomes the server's one I/O thread; stop() may be called from any thread.
//
// The server is built as Beast's advanced server is, in pieces that talk through small public
// interfaces (none is another's friend):
//   listener.h         accepts connections, caps their number, retries after accept errors;
//   http_session.h     one HTTP connection: parsing, limits, keep-alive, the WebSocket upgrade;
//   ws_session.h       one WebSocket of a session: events and operations, write queue, pings;
//   connection.h       what those three share (limits, the connection count, a throttled log);
//   request_handler.h  the API without its transport: a parsed request in, a status and JSON
//                      body out, routed to session operations or to
//   admin.h            the admin endpoints, their counters and the admin token;
//   session_registry.h the remote sessions: ids, secrets, events, forgetting closed ones;
//   executor_loop.h    the deployment (LocalService on an Executor) run by the real clock, with
//                      its state committed each turn before the turn's answers leave;
//   api_types.h        the request and answer types they all use;
//   zk_session.h       one ZooKeeper client's connection (ZooKeeper's protocol, jute.h), on
//                      the same registry and loop, accepted by a listener of its own.
// The transport depends on the handler and the registry, they on the loop, and nothing depends
// back up: the registry reaches WebSockets only as EventSinks, so the fuzz targets drive the
// handler with no sockets at all (handle_raw(), handle_ws_raw()).
//
// Each remote session has a client library in the server (ClientSession) that answers the
// service's pings only while the remote client shows signs of life (a request, a WebSocket
// message or a WebSocket pong within the session timeout), so a client that goes away has its
// session expire as in FaaSKeeper.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/protocol/deployment.h"
#include "core/status.h"
#include "emulator/aws_latency.h"
#include "emulator/calibration_table.h"

namespace fkemu {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8980;  // 0: any free port (port() tells which)
  // The ZooKeeper listener (docs/zookeeper-protocol.md): off unless zookeeper_port >= 0 (0: any
  // free port, zookeeper_port() tells which).
  std::string zookeeper_host = "127.0.0.1";
  int zookeeper_port = -1;
  // ZooKeeper's super user (zookeeper.DigestAuthenticationProvider.superDigest):
  // "super:BASE64(SHA1(super:PASSWORD))"; a session whose `addauth digest` gives this id may do
  // everything. Empty: no super user.
  std::string zookeeper_super_digest;
  // The deployment; a server has TTL nodes on (decision 53: fkemu serve --no-ttl-nodes turns
  // them off).
  DeploymentConfig config = [] {
    DeploymentConfig c;
    c.ttl_nodes = true;
    return c;
  }();
  size_t max_body_bytes = 1536 * 1024;  // a request body (data of 1 MiB in base64 fits)
  // Per connection, a token bucket of one second: far above what one client sends on loopback
  // (about 20,000 sequential requests a second), so it only stops a runaway loop.
  double max_requests_per_second = 200000;
  // HTTP and WebSocket connections open at once; one more is answered 503 and closed. 0: from
  // the file descriptor limit (raised to its hard limit at start), at most 10,000.
  size_t max_connections = 0;
  // Sessions the server holds at once (open ones, and closed ones not yet forgotten); one
  // more is answered 503. Opening a session needs no credentials: this bounds its memory.
  size_t max_sessions = 100000;
  int idle_timeout_ms = 60000;        // an HTTP connection with no request is closed
  size_t max_backlog_events = 10000;  // watch events kept for a session with no WebSocket
  bool quiet = false;                 // no log lines on stderr
  // Where the services keep their state: ":memory:" (nothing kept) or an SQLite file; a
  // restart on the same file continues where the last run stopped (docs/api.md, Durability).
  std::string data_path = ":memory:";
  // The latency model (emulator/aws_latency.h): "zero", or "aws-2024" with its options; virtual
  // time follows the real clock, so the calibrated model makes every call take as long as it
  // would on AWS. `calibration`: another table for aws-2024 (null: the embedded one).
  std::string latency_model = "zero";
  AwsLatencyOptions latency_options;
  std::shared_ptr<const CalibrationTable> calibration;
  // The admin token (docs/api.md, Admin): needed by the admin requests that change state, and by
  // every admin request when listening beyond loopback. Empty: a random one is made at start()
  // and written (mode 0600) to admin_token_file, or, if that is empty too, to DATA.admin-token
  // beside a state file; a server in memory only prints it.
  std::string admin_token;
  std::string admin_token_file;
  // Closed sessions are forgotten once their last answer and event are out; their ids stay
  // known (a request answers SessionExpired, not NoSession) for the last this many.
  size_t remembered_closed_sessions = 10000;
};

// Whether a heartbeat period and a session timeout can work together: the heartbeat function
// must look at every session at least twice per timeout (ZooKeeper bounds the timeout by its
// tick the same way: at least 2 ticks). A clear error otherwise.
Status check_session_settings(const DeploymentConfig& config);

// "HOST:PORT", "[IPV6]:PORT", ":PORT", "PORT", "HOST" or "[IPV6]" into options (HOST an IP
// address or localhost); a clear error otherwise.
Status parse_listen(const std::string& listen, ServerOptions& options);
// The same for the ZooKeeper listener (--zookeeper), into zookeeper_host and zookeeper_port.
Status parse_zookeeper_listen(const std::string& listen, ServerOptions& options);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the state file (locked: one server per file), binds and listens; fails with a
  // message naming the file or the address if it cannot.
  Status start();
  uint16_t port() const;
  // The ZooKeeper listener's port; 0 when there is none.
  uint16_t zookeeper_port() const;
  // http://HOST:PORT (IPv6 in brackets).
  std::string url() const;
  // The admin token in use, and the file it was written to (empty if none).
  const std::string& admin_token() const;
  const std::string& admin_token_file() const;
  // Read-only inspection of a state file, beside a server that runs on it: the dump of
  // GET /admin/dump as JSON text, or an error.
  static Result<std::string> inspect(const ServerOptions& options);
  // Serves until stop().
  void run();
  void stop();

  // Handles one raw HTTP request on the calling thread, running the deployment until it is
  // answered, and returns "STATUS BODY". For fuzzing and tests; the server must not be
  // running (no start() needed).
  std::string handle_raw(std::string_view request);
  // The same for one WebSocket message of a session this server opened for it: the answer
  // (the last message sent back), or "" if none. For fuzzing.
  std::string handle_ws_raw(std::string_view message);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fkemu
