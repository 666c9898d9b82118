#include "apps/server/server.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "apps/server/admin.h"
#include "apps/server/api_types.h"
#include "apps/server/connection.h"
#include "apps/server/executor_loop.h"
#include "apps/server/http_session.h"
#include "apps/server/listener.h"
#include "apps/server/request_handler.h"
#include "apps/server/session_registry.h"
#include "apps/server/zk_session.h"
#include "core/json/json_text.h"

namespace fkemu {

namespace net = boost::asio;
namespace http = boost::beast::http;

Status parse_listen(const std::string& listen, ServerOptions& o) {
  std::string host = o.host, port = std::to_string(o.port);
  auto fail = [&listen](const std::string& why) {
    return Status(Code::BadArguments, "--listen " + listen + ": " + why);
  };
  const size_t colons = static_cast<size_t>(std::count(listen.begin(), listen.end(), ':'));
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find(']');
    if (close == std::string::npos) return fail("an IPv6 address opened with [ is not closed");
    host = listen.substr(1, close - 1);
    const std::string rest = listen.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return fail("after [ADDRESS] comes :PORT");
      port = rest.substr(1);
    }
  } else if (colons > 1) {
    host = listen;  // an IPv6 address without a port
  } else if (colons == 1) {
    const size_t colon = listen.find(':');
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.empty()) host = "127.0.0.1";
  } else if (!listen.empty() && listen.find_first_not_of("0123456789") == std::string::npos) {
    port = listen;
  } else {
    host = listen;
  }
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    return fail("the port must be a number from 0 to 65535");
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  if (ec)
    return fail("not an IP address or localhost: " + host +
                (colons > 1 ? " (an IPv6 address with a port goes in brackets: [::1]:8980)" : ""));
  o.host = host;
  o.port = static_cast<uint16_t>(p);
  return Status::ok();
}

Status parse_zookeeper_listen(const std::string& listen, ServerOptions& o) {
  ServerOptions z;
  z.host = o.zookeeper_host;
  z.port = 2181;
  if (Status st = parse_listen(listen, z); !st.is_ok())
    return Status(Code::BadArguments,
                  "--zookeeper" + st.message().substr(std::string("--listen").size()));
  o.zookeeper_host = z.host;
  o.zookeeper_port = z.port;
  return Status::ok();
}

Status check_session_settings(const DeploymentConfig& c) {
  const int64_t timeout_ms = c.session_timeout / kMillisecond;
  const int64_t period_ms = c.heartbeat_period / kMillisecond;
  if (c.heartbeat_period <= 0 || c.session_timeout <= 0)
    return Status(Code::BadArguments, "the session timeout and the heartbeat period must be > 0");
  if (c.session_timeout < 2 * c.heartbeat_period)
    return Status(Code::BadArguments,
                  "a session timeout of " + std::to_string(timeout_ms) +
                      " ms with a heartbeat period of " + std::to_string(period_ms) +
                      " ms cannot work: the heartbeat function must look at each session at "
                      "least twice per timeout (as ZooKeeper's timeout is at least 2 ticks), so "
                      "the timeout must be at least " +
                      std::to_string(2 * period_ms) + " ms, or the period at most " +
                      std::to_string(timeout_ms / 2) + " ms");
  return Status::ok();
}

namespace {

LoopOptions loop_options(const ServerOptions& o) {
  return LoopOptions{o.config,          o.data_path,   o.latency_model,
                     o.latency_options, o.calibration, o.quiet};
}

RegistryOptions registry_options(const ServerOptions& o) {
  return RegistryOptions{o.max_sessions, o.max_backlog_events, o.remembered_closed_sessions};
}

ConnectionLimits connection_limits(const ServerOptions& o) {
  return ConnectionLimits{o.max_body_bytes, o.max_requests_per_second, o.idle_timeout_ms,
                          o.config.session_timeout};
}

}  // namespace

// The pieces, in the order they are built; they are destroyed in reverse, the io_context last, so
// that its pending handlers (which hold connections) go after everything they point to.
class Server::Impl {
 public:
  explicit Impl(ServerOptions o)
      : opt_(std::move(o)),
        log_(opt_.quiet),
        loop_(ioc_, loop_options(opt_)),
        sessions_(ioc_, loop_, registry_options(opt_)),
        handler_(opt_, loop_, sessions_),
        context_{handler_, sessions_, log_, connection_limits(opt_)},
        listener_(ioc_, context_),
        zk_state_(loop_, sessions_, log_, opt_.config),
        zk_listener_(
            ioc_, context_,
            [this](net::ip::tcp::socket s, ConnectionSlot slot) {
              std::make_shared<ZkSession>(std::move(s), zk_state_, std::move(slot))->start();
            }),
        signals_(ioc_, SIGINT, SIGTERM) {
    zk_state_.data_path = opt_.data_path;
    zk_state_.super_digest = opt_.zookeeper_super_digest;
    // A request carries at most the data limit, its path and its header.
    zk_state_.max_frame_bytes = opt_.config.max_data_bytes + 64 * 1024;
  }

  // The sessions go first: their clients live in the deployment. Answers waiting for a commit
  // go before them.
  ~Impl() {
    loop_.flush();
    sessions_.clear();
    loop_.drop();
  }

  Status start() {
    if (Status st = check_session_settings(opt_.config); !st.is_ok()) return st;
    // A closed log pipe or peer must not end the server (sockets send with MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    listener_.limit_connections(opt_.max_connections);
    if (opt_.data_path != ":memory:") {
      if (Status st = loop_.open_state(/*read_only=*/false); !st.is_ok()) return st;
    }
    if (Status st = loop_.build(); !st.is_ok()) return st;
    auto token = make_admin_token(opt_.admin_token, opt_.admin_token_file,
                                  loop_.durable() ? opt_.data_path : "");
    if (!token.is_ok()) return token.status();
    admin_token_ = token->token;
    admin_token_file_ = token->file;
    // Session secrets derive from a key kept beside the state file, so that a server restarted
    // on it can take up the sessions the state holds.
    auto key = session_key(loop_.durable() ? opt_.data_path : "");
    if (!key.is_ok()) return key.status();
    sessions_.set_secret_key(*key);
    if (Status st = listener_.listen(opt_.host, opt_.port); !st.is_ok()) return st;
    handler_.set_listening(url(), listener_.loopback(), admin_token_);
    if (opt_.zookeeper_port >= 0) {
      zk_listener_.limit_connections(opt_.max_connections);
      if (Status st =
              zk_listener_.listen(opt_.zookeeper_host, static_cast<uint16_t>(opt_.zookeeper_port));
          !st.is_ok())
        return st;
      zk_state_.port = zk_listener_.port();
      handler_.add_counters("zookeeper", [this] { return zk_state_.counters(); });
      zk_state_.epoch_offset_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count() -
                                  loop_.now() / kMillisecond;
      zk_listener_.start();
    }
    listener_.start();
    sessions_.sweep_every_second();
    signals_.async_wait([this](const boost::system::error_code& e, int) {
      if (!e) stop_now();
    });
    loop_.kick();
    return Status::ok();
  }

  uint16_t port() const { return listener_.port(); }
  uint16_t zookeeper_port() const { return opt_.zookeeper_port >= 0 ? zk_state_.port : 0; }
  std::string url() const {
    const bool v6 = opt_.host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + opt_.host + "]" : opt_.host) + ":" + std::to_string(port());
  }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& admin_token_file() const { return admin_token_file_; }

  void run() {
    if (!opt_.quiet) {
      std::cerr << "fkemu serve: listening on " << url() << std::endl;
      if (opt_.zookeeper_port >= 0)
        std::cerr << "fkemu serve: ZooKeeper clients on " << opt_.zookeeper_host << ":"
                  << zookeeper_port() << std::endl;
      std::cerr << "fkemu serve: state "
                << (loop_.durable() ? "in " + opt_.data_path
                                    : std::string("in memory only (--data :memory:)"))
                << std::endl;
      if (!admin_token_file_.empty()) {
        std::cerr << "fkemu serve: admin token in " << admin_token_file_ << std::endl;
      } else if (opt_.admin_token.empty()) {
        std::cerr << "fkemu serve: admin token " << admin_token_ << std::endl;
      }
      if (opt_.zookeeper_port >= 0 && !zk_listener_.loopback())
        std::cerr << "fkemu serve: WARNING: ZooKeeper clients on " << opt_.zookeeper_host
                  << ", beyond loopback: anyone who reaches it can open sessions (ZooKeeper's "
                     "protocol has no token)"
                  << std::endl;
      if (!listener_.loopback())
        std::cerr << "fkemu serve: WARNING: listening on " << opt_.host
                  << ", beyond loopback: anyone who reaches it can open sessions; every /admin "
                     "request needs the admin token"
                  << std::endl;
    }
    // A handler that throws (a bug: hostile input must be refused with a message) costs the
    // request that caused it, not the server: it is logged and the loop goes on.
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        log_.line(std::string("internal error while handling a request: ") + e.what());
      }
    }
  }

  void stop() {
    net::post(ioc_, [this] { stop_now(); });
  }

  // Read-only: the dump of a state file that a server may be using.
  Result<std::string> inspect() {
    if (Status st = loop_.open_state(/*read_only=*/true); !st.is_ok()) return st;
    if (Status st = loop_.build(); !st.is_ok()) return st;
    return json_text(dump_state(loop_.service()));
  }

  std::string handle_raw(std::string_view bytes) {
    if (!loop_.built()) {
      if (Status st = loop_.build(); !st.is_ok()) return "500 " + st.message();
    }
    http::request_parser<http::string_body> p;
    p.body_limit(opt_.max_body_bytes);
    p.header_limit(kMaxHeaderBytes);
    p.eager(true);
    boost::beast::error_code ec;
    p.put(net::buffer(bytes.data(), bytes.size()), ec);
    if (!ec && !p.is_done()) p.put_eof(ec);
    if (ec == http::error::body_limit) return "413 body over the limit";
    if (ec || !p.is_done()) return "400 malformed: " + ec.message();
    Request req = p.release();
    if (boost::beast::websocket::is_upgrade(req)) return "400 no WebSocket here";
    return handler_.answer_now(req);
  }

  std::string handle_ws_raw(std::string_view message) {
    if (!loop_.built()) {
      if (Status st = loop_.build(); !st.is_ok()) return "";
    }
    return handler_.message_now(std::string(message));
  }

 private:
  void stop_now() {
    listener_.stop();
    zk_listener_.stop();
    loop_.stop();
    sessions_.stop();
    ioc_.stop();
  }

  ServerOptions opt_;
  net::io_context ioc_{1};
  ThrottledLog log_;
  ExecutorLoop loop_;
  SessionRegistry sessions_;
  RequestHandler handler_;
  ConnectionContext context_;
  Listener listener_;
  ZkServerState zk_state_;
  Listener zk_listener_;
  net::signal_set signals_;
  std::string admin_token_, admin_token_file_;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;
Status Server::start() { return impl_->start(); }
uint16_t Server::port() const { return impl_->port(); }
uint16_t Server::zookeeper_port() const { return impl_->zookeeper_port(); }
std::string Server::url() const { return impl_->url(); }
const std::string& Server::admin_token() const { return impl_->admin_token(); }
const std::string& Server::admin_token_file() const { return impl_->admin_token_file(); }
Result<std::string> Server::inspect(const ServerOptions& options) {
  ServerOptions o = options;
  o.quiet = true;
  Impl impl(o);
  return impl.inspect();
}
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }
std::string Server::handle_raw(std::string_view request) { return impl_->handle_raw(request); }
std::string Server::handle_ws_raw(std::string_view message) {
  return impl_->handle_ws_raw(message);
}

}  // namespace fkemu
