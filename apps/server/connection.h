// What the listener (listener.h) and the connections it accepts (http_session.h, ws_session.h)
// share: the transport's limits, the count of open connections, a throttled log, and the pieces
// behind the transport that a connection hands its requests to. Used on the server's I/O thread
// only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/runtime/clock.h"

namespace fkemu {

class RequestHandler;
class SessionRegistry;

// Says a line on stderr at most once a second (a storm of refused connections must not flood
// it), with how many like it were not said.
class ThrottledLog {
 public:
  explicit ThrottledLog(bool quiet) : quiet_(quiet) {}
  void line(const std::string& text);

 private:
  bool quiet_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t unlogged_ = 0;
};

// One open connection, counted for as long as it lives; an HTTP connection's slot moves to the
// WebSocket it becomes (a moved-from slot counts nothing).
class ConnectionSlot {
 public:
  explicit ConnectionSlot(std::shared_ptr<size_t> count) : count_(std::move(count)) { ++*count_; }
  ~ConnectionSlot() {
    if (count_) --*count_;
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;

 private:
  std::shared_ptr<size_t> count_;
};

struct ConnectionLimits {
  size_t max_body_bytes = 0;           // an HTTP body, or a WebSocket message
  double max_requests_per_second = 0;  // per HTTP connection
  int idle_timeout_ms = 0;             // an HTTP connection with no request is closed
  Duration session_timeout = 0;        // a WebSocket's client that answers nothing is gone
};

// What every connection works with; it outlives them all.
struct ConnectionContext {
  RequestHandler& handler;
  SessionRegistry& sessions;
  ThrottledLog& log;
  ConnectionLimits limits;
};

}  // namespace fkemu
