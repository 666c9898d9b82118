// fkemu serve: a FaaSKeeper deployment for offline development, behind an HTTP and WebSocket
// API (docs/api.md).
//
// The deployment is the one simulation uses (LocalService on an Executor); here the executor's
// virtual time follows a real monotonic clock: whenever something is due, the server's single
// I/O thread runs the executor up to now. Each remote session has a client library in the
// server (ClientSession) that answers the service's pings only while the remote client shows
// signs of life (a request, a WebSocket message or a WebSocket pong within the session
// timeout), so a client that goes away has its session expire as in FaaSKeeper.
//
// Everything runs on one thread: run() blocks; stop() may be called from any thread.
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
  DeploymentConfig config;
  size_t max_body_bytes = 1536 * 1024;    // a request body (data of 1 MiB in base64 fits)
  double max_requests_per_second = 2000;  // per connection, a token bucket of one second
  int idle_timeout_ms = 60000;            // an HTTP connection with no request is closed
  size_t max_backlog_events = 10000;      // watch events kept for a session with no WebSocket
  bool quiet = false;                     // no log lines on stderr
  // Where the services keep their state: ":memory:" (nothing kept) or an SQLite file; a
  // restart on the same file continues where the last run stopped (docs/api.md, Durability).
  std::string data_path = ":memory:";
  // The latency model (emulator/aws_latency.h): "zero", or "aws-2024" with its options; virtual
  // time follows the real clock, so the calibrated model makes every call take as long as it
  // would on AWS. `calibration`: another table for aws-2024 (null: the embedded one).
  std::string latency_model = "zero";
  AwsLatencyOptions latency_options;
  std::shared_ptr<const CalibrationTable> calibration;
};

// "host:port" (or ":port", or "port") into options; a clear error otherwise.
Status parse_listen(const std::string& listen, ServerOptions& options);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; fails with a message naming the address if it cannot.
  Status start();
  uint16_t port() const;
  // Serves until stop().
  void run();
  void stop();

  // Handles one raw HTTP request on the calling thread, running the deployment until it is
  // answered, and returns "STATUS BODY". For fuzzing and tests; the server must not be
  // running (no start() needed).
  std::string handle_raw(std::string_view request);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fkemu
