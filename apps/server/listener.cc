#include "apps/server/listener.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <chrono>

#include "apps/server/api_types.h"
#include "apps/server/http_session.h"
#include "core/json/json_text.h"

namespace fkemu {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, const ConnectionContext& context, Accept accept)
    : context_(context), accept_(std::move(accept)), acceptor_(ioc), retry_timer_(ioc) {}

void Listener::limit_connections(size_t requested) {
  rlimit rl{};
  size_t files = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlimit raised = rl;
      raised.rlim_cur = rl.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    files = rl.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(rl.rlim_cur);
  }
  max_connections_ =
      requested > 0 ? requested : std::min<size_t>(10000, files > 80 ? files - 64 : 16);
}

Status Listener::listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const tcp::endpoint ep(net::ip::make_address(host, ec), port);
  if (ec) return Status(Code::BadArguments, "not an IP address: " + host);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status(Code::SystemError,
                  "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  loopback_ = ep.address().is_loopback();
  return Status::ok();
}

void Listener::start() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (!acceptor_.is_open() || ec == net::error::operation_aborted) return;  // stopped
    if (ec) {
      context_.log.line("cannot accept a connection: " + ec.message() + "; trying again in 100 ms");
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e) start();
      });
      return;
    }
    if (*open_ >= max_connections_) {
      context_.log.line("refused a connection: " + std::to_string(*open_) +
                        " are open, the most allowed (--max-connections)");
      refuse(std::move(s));
    } else if (accept_) {
      accept_(std::move(s), ConnectionSlot(open_));
    } else {
      std::make_shared<HttpSession>(std::move(s), context_, ConnectionSlot(open_))->start();
    }
    start();
  });
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
}

// A 503 that says why, then the connection is closed.
void Listener::refuse(tcp::socket socket) {
  if (accept_) {
    boost::system::error_code e;
    socket.close(e);
    return;
  }
  const std::string body =
      json_text(error_body("ServiceUnavailable", "too many connections are open (" +
                                                     std::to_string(max_connections_) +
                                                     ", --max-connections); try again later")) +
      "\n";
  auto text = std::make_shared<std::string>(
      "HTTP/1.1 503 Service Unavailable\r\nServer: fkemu\r\nContent-Type: "
      "application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  auto s = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*s, net::buffer(*text), [s, text](const boost::system::error_code&, size_t) {
    boost::system::error_code e;
    s->shutdown(tcp::socket::shutdown_both, e);
    s->close(e);
  });
}

}  // namespace fkemu
