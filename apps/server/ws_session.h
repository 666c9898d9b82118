// A WebSocket of one remote session (GET /v1/sessions/ID/events, upgraded by its HTTP session):
// watch events go out on it, and operations come in with their answers going out as they come.
// Writes are queued and sent one at a time; a client that does not read what it asked for is cut
// off before its answers fill memory (64 MiB queued). Beast pings when the socket is idle for half
// the session timeout; a pong, a ping or a message is a sign of life of the session, and a client
// that answers nothing for a whole session timeout is gone.
//
// Created and used on the server's I/O thread only; it keeps itself alive while it reads or
// writes, and the session registry holds it weakly (registry's EventSink).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "apps/server/api_types.h"
#include "apps/server/connection.h"
#include "apps/server/session_registry.h"

namespace fkemu {

class WsSession : public EventSink, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(boost::asio::ip::tcp::socket socket, const ConnectionContext& context,
            ConnectionSlot slot, std::shared_ptr<RemoteSession> session);

  // Completes the handshake of the upgrade request `req`.
  void accept(const Request& req);

  bool open() const override { return !closed_; }
  void send(std::string text) override;
  void close() override;

 private:
  // The session, if the registry still holds it (a reset drops every session).
  RemoteSession* live();
  void on_accept(boost::beast::error_code ec);
  void read();
  void on_read(boost::beast::error_code ec, size_t);
  void write_next();
  void on_write(boost::beast::error_code ec, size_t);

  static constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;

  const ConnectionContext& context_;
  ConnectionSlot slot_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::shared_ptr<RemoteSession> session_;
  boost::beast::flat_buffer buf_;
  std::deque<std::string> out_;
  size_t queued_ = 0;  // bytes in out_
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace fkemu
