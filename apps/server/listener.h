// A listening socket of fkemu serve: accepts connections and starts an HTTP session
// (http_session.h) on each, or what the listener is given (the ZooKeeper listener's
// zk_session.h). The listener never stops while the server runs: an accept error (out
// of file descriptors, say) is logged and accepting goes on after 100 ms. Connections beyond the
// cap are answered 503 with a reason (HTTP) or just closed (ZooKeeper, as its server does), so that
// a flood cannot take every descriptor.
//
// Used on the server's I/O thread only (listen() before the I/O thread runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "apps/server/connection.h"
#include "core/status.h"

namespace fkemu {

class Listener {
 public:
  // What starts a session on an accepted connection; none: an HTTP session.
  using Accept = std::function<void(boost::asio::ip::tcp::socket, ConnectionSlot)>;
  Listener(boost::asio::io_context& ioc, const ConnectionContext& context, Accept accept = {});

  // Raises the soft limit of open files to the hard one, and caps the open connections at
  // `requested`, or (0) below what the limit leaves, at most 10,000.
  void limit_connections(size_t requested);
  // Binds and listens; fails with a message naming the address if it cannot.
  Status listen(const std::string& host, uint16_t port);
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Whether the address listened on is a loopback one.
  bool loopback() const { return loopback_; }

  void start();
  void stop();

 private:
  void refuse(boost::asio::ip::tcp::socket socket);

  const ConnectionContext& context_;
  Accept accept_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
  size_t max_connections_ = 10000;
  bool loopback_ = true;
};

}  // namespace fkemu
