// The WebSocket of one session of fkemu serve (docs/api.md, "WebSocket"), which carries the
// shell's operations, their answers, the session's watch events and the pings that keep it alive.
//
// Once open, a thread of its own reads and writes the socket (Asio, asynchronous), with a read
// always in progress: the server's pings get their pongs, and the session stays alive, while
// the shell waits for a command. An answer is matched to its operation by the "req" number the
// socket adds. Watch events and notices about the connection queue up in the order they came,
// and the read end of a pipe, notify_fd(), becomes readable when one does, for a poll(2)
// alongside the terminal. The events of an operation come before its answer, so the notices
// taken after request() returns include every event its change fired.
//
// The public functions are for one thread, the shell's; the socket's thread runs only the
// private handlers. Destroying an EventSocket shuts it down.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/shell/server_url.h"
#include "core/status.h"

namespace fkemu::shell_client {

// The longest request() waits for an answer unless told otherwise.
inline constexpr auto kAnswerTimeout = std::chrono::seconds(60);

// A line for the shell to print between commands: a watch event (or the news that some were
// dropped), which printwatches off hides, or a notice about the connection, which it does not.
struct Notice {
  bool watch = false;
  std::string text;
};

class EventSocket {
 public:
  EventSocket();
  ~EventSocket();
  EventSocket(const EventSocket&) = delete;
  EventSocket& operator=(const EventSocket&) = delete;

  // Connects to the WebSocket of `session`, upgrades and starts the thread; ConnectionLoss,
  // saying why, if it cannot. Called once.
  Status open(const Url& url, const std::string& session, const std::string& secret);

  // Sends an operation and waits for its answer, the server's result message; ConnectionLoss
  // if the socket is gone, OperationTimeout if no answer came within `timeout`.
  Result<nlohmann::json> request(nlohmann::json op, std::chrono::seconds timeout = kAnswerTimeout);

  // Watch events and notices that came since the last call, in order.
  std::vector<Notice> take_notices();

  // Readable while notices wait (-1 if the pipe could not be made: then nothing wakes a poll).
  int notify_fd() const { return pipe_[0]; }

  // False once the connection is lost or closed.
  bool alive();

  // The shell is closing the session: the server ending the WebSocket is expected, not news.
  void expect_end();

  // Closes the socket (the closing handshake, at most 5 s) and stops the thread.
  void shutdown();

 private:
  void read();
  void on_read(boost::beast::error_code ec);
  void handle(nlohmann::json m);
  void send(std::string text);
  void write_next();
  void on_write(boost::beast::error_code ec);
  void lost(const std::string& why);
  void notice(bool watch, std::string text);

  boost::asio::io_context ioc_{1};
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread thread_;
  // The socket's thread only:
  boost::beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool closing_ = false;
  // Shared, under mu_:
  std::mutex mu_;
  std::condition_variable cv_;
  bool end_expected_ = false;
  bool closed_ = false;
  std::string closed_why_;
  int64_t next_req_ = 0;
  std::map<int64_t, nlohmann::json> results_;
  std::vector<Notice> notices_;
  // Written by the socket's thread, read by the shell's; the ends are set before either runs.
  int pipe_[2] = {-1, -1};
};

}  // namespace fkemu::shell_client
