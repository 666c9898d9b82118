// One HTTP connection of fkemu serve: reads requests one at a time (keep-alive), hands each to the
// request handler and writes its answer as JSON, or upgrades the connection to a WebSocket session
// (ws_session.h) when the handler allows it. It enforces the transport's limits: the body size
// (413, then reads on what the client still sends so that it sees the answer), the header size
// (431), a token bucket of requests per second (429), and an idle timeout between requests (none
// while an operation waits for its answer).
//
// Created by the listener and used on the server's I/O thread only; it keeps itself alive while
// it reads or writes.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "apps/server/api_types.h"
#include "apps/server/connection.h"

namespace fkemu {

// The most header bytes a request may have.
inline constexpr size_t kMaxHeaderBytes = 16 * 1024;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, const ConnectionContext& context,
              ConnectionSlot slot);
  void start();

 private:
  void read();
  bool take_token();
  void on_read(boost::beast::error_code ec, size_t);
  void upgrade(Request req);
  void reply(unsigned status, const nlohmann::json& body);
  void shutdown();
  void drain();

  const ConnectionContext& context_;
  ConnectionSlot slot_;  // moves to the WebSocket on an upgrade
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buf_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool keep_alive_ = true;
  bool linger_ = false;
  size_t drained_ = 0;
  std::array<char, 16384> scratch_{};
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
};

}  // namespace fkemu
