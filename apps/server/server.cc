#include "apps/server/server.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>

#include "core/json/json_text.h"
#include "core/model/path.h"
#include "core/text/base64.h"
#include "emulator/local_service.h"
#include "emulator/sqlite_state.h"
#include "harness/fault_plan.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

namespace fkemu {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Request = http::request<http::string_body>;
// Every answer is JSON: an HTTP status and a body.
using Done = std::function<void(unsigned status, json body)>;

namespace {

// Session ids and secrets come from the kernel's CSPRNG.
std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<size_t>(n);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// JSON text of an answer. Messages may quote what a client sent (a path, a field name), which
// need not be UTF-8: such bytes become U+FFFD instead of an exception (found by fuzz_http).
std::string text_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json error_body(const std::string& error, const std::string& message) {
  return json{{"error", error}, {"message", message}};
}

// Binary values (node data in records) as base64, so that the dump is plain JSON.
json printable(const json& j) {
  if (j.is_binary()) {
    const auto& b = j.get_binary();
    return json{{"base64", base64_encode(std::string(b.begin(), b.end()))}};
  }
  if (j.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : j.items()) out[k] = printable(v);
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(printable(v));
    return out;
  }
  return j;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

// A request target as its path and its query (after '?', empty if none).
std::pair<std::string, std::string_view> split_target(const std::string& target) {
  const size_t q = target.find('?');
  return {target.substr(0, q),
          q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1)};
}

// The first part "KEY=VALUE" (or, unless `with_value`, "KEY") of a query, if it has one.
std::optional<std::string_view> query_part(std::string_view query, std::string_view key,
                                           bool with_value) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const size_t eq = part.find('=');
    if (part.substr(0, eq) == key && (!with_value || eq != std::string_view::npos)) return part;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string query_param(std::string_view query, std::string_view key) {
  const auto part = query_part(query, key, /*with_value=*/true);
  return part ? percent_decode(part->substr(part->find('=') + 1)) : std::string();
}

bool has_query_key(std::string_view query, std::string_view key) {
  return query_part(query, key, /*with_value=*/false).has_value();
}

std::string bearer(const Request& req) {
  const auto auth = req.find(http::field::authorization);
  if (auth == req.end()) return {};
  const std::string_view v(auth->value().data(), auth->value().size());
  return v.substr(0, 7) == "Bearer " ? std::string(v.substr(7)) : std::string();
}

// A Host header names this server if it is an IP address or localhost (any port): a DNS name
// could be rebound to 127.0.0.1 by a web page's server (DNS rebinding).
bool host_allowed(const std::string& host) {
  std::string name = host;
  std::string port;
  if (!name.empty() && name[0] == '[') {
    const size_t close = name.find(']');
    if (close == std::string::npos) return false;
    port = name.substr(close + 1);
    name = name.substr(1, close - 1);
    if (!port.empty() && port[0] != ':') return false;
    if (!port.empty()) port = port.substr(1);
  } else if (const size_t colon = name.find(':'); colon != std::string::npos) {
    port = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  if (port.find_first_not_of("0123456789") != std::string::npos) return false;
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "localhost") return true;
  boost::system::error_code ec;
  net::ip::make_address(name, ec);
  return !ec;
}

// Counts an open connection for as long as it lives.
class ConnCount {
 public:
  explicit ConnCount(std::shared_ptr<size_t> n) : n_(std::move(n)) { ++*n_; }
  ~ConnCount() { --*n_; }
  ConnCount(const ConnCount&) = delete;
  ConnCount& operator=(const ConnCount&) = delete;

 private:
  std::shared_ptr<size_t> n_;
};

Task<void> connect_task(ClientSession* c, std::function<void(Status)> done) {
  Status s = co_await c->connect();
  done(s);
}

Task<void> op_task(ClientSession* c, Step st, std::function<void(OpResult)> done) {
  OpResult r = co_await perform_step(*c, st);
  done(std::move(r));
}

}  // namespace

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

class Server::Impl {
 public:
  class HttpConn;
  class WsConn;

  // A remote client's session: its client library in the server, its secret, its sockets.
  struct Remote {
    std::string id, secret;
    ClientSession* client = nullptr;
    Time last_seen = 0;
    std::vector<std::weak_ptr<WsConn>> sockets;
    std::deque<std::string> backlog;  // watch events while no WebSocket is open
    uint64_t dropped = 0;
    bool connected = false;  // the session is registered in the service
    size_t inflight = 0;     // operations not yet answered
  };

  explicit Impl(ServerOptions o)
      : opt_(std::move(o)),
        acceptor_(ioc_),
        pump_timer_(ioc_),
        accept_timer_(ioc_),
        sweep_timer_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM) {
    start_ = std::chrono::steady_clock::now();
  }

  ~Impl() { drop_service(); }

  Status start() {
    if (Status st = check_session_settings(opt_.config); !st.is_ok()) return st;
    // A closed log pipe or peer must not end the server (sockets send with MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (opt_.data_path != ":memory:") {
      auto st = SqliteState::open(opt_.data_path);
      if (!st.is_ok()) return st.status();
      state_ = std::move(*st);
    }
    if (Status st = new_service(); !st.is_ok()) return st;
    if (Status st = make_admin_token(); !st.is_ok()) return st;
    boost::system::error_code ec;
    const tcp::endpoint ep(net::ip::make_address(opt_.host, ec), opt_.port);
    if (ec) return Status(Code::BadArguments, "not an IP address: " + opt_.host);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Status(Code::SystemError, "cannot listen on " + opt_.host + ":" +
                                           std::to_string(opt_.port) + ": " + ec.message());
    loopback_ = ep.address().is_loopback();
    url_ = url();
    accept();
    sweep_later();
    signals_.async_wait([this](const boost::system::error_code& e, int) {
      if (!e) stop_now();
    });
    kick();
    return Status::ok();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const {
    const bool v6 = opt_.host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + opt_.host + "]" : opt_.host) + ":" + std::to_string(port());
  }

  void run() {
    if (!opt_.quiet) {
      std::cerr << "fkemu serve: listening on " << url() << std::endl;
      std::cerr << "fkemu serve: state "
                << (state_ ? "in " + opt_.data_path
                           : std::string("in memory only (--data :memory:)"))
                << std::endl;
      if (!admin_token_file_.empty()) {
        std::cerr << "fkemu serve: admin token in " << admin_token_file_ << std::endl;
      } else if (opt_.admin_token.empty()) {
        std::cerr << "fkemu serve: admin token " << admin_token_ << std::endl;
      }
      if (!loopback_)
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
        log_throttled(std::string("internal error while handling a request: ") + e.what());
      }
    }
  }

  // The soft limit of open files up to the hard one; the connection cap below what is left.
  void raise_fd_limit() {
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
    max_connections_ = opt_.max_connections > 0
                           ? opt_.max_connections
                           : std::min<size_t>(10000, files > 80 ? files - 64 : 16);
  }

  // The admin token: given, or made and written to a file only its owner can read.
  Status make_admin_token() {
    if (!opt_.admin_token.empty()) {
      admin_token_ = opt_.admin_token;
      return Status::ok();
    }
    admin_token_ = random_hex(32);
    std::string file = opt_.admin_token_file;
    if (file.empty() && state_) file = opt_.data_path + ".admin-token";
    if (file.empty()) return Status::ok();
    const int fd =
        ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || ::fchmod(fd, 0600) != 0 ||
        ::write(fd, (admin_token_ + "\n").data(), admin_token_.size() + 1) !=
            static_cast<ssize_t>(admin_token_.size() + 1)) {
      const std::string why = std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return Status(Code::SystemError, "cannot write the admin token to " + file + ": " + why);
    }
    ::close(fd);
    admin_token_file_ = file;
    return Status::ok();
  }

  // Read-only: the dump of a state file that a server may be using.
  Result<std::string> inspect() {
    auto st = SqliteState::open(opt_.data_path, SqliteState::Mode::ReadOnly);
    if (!st.is_ok()) return st.status();
    state_ = std::move(*st);
    read_only_ = true;
    if (Status s = new_service(); !s.is_ok()) return s;
    return text_of(dump());
  }

  void stop() {
    net::post(ioc_, [this] { stop_now(); });
  }

  // --- time ------------------------------------------------------------------------------
  Time vnow() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start_)
        .count();
  }

  // Runs the executor up to now, then sleeps until the next thing is due.
  void pump() {
    pump_posted_ = false;
    bool finished = true;
    in_pump_ = true;
    try {
      finished = ex_->advance_to(vnow(), 100000);
    } catch (const std::exception& e) {
      if (!opt_.quiet) std::cerr << "fkemu serve: a process failed: " << e.what() << std::endl;
    }
    in_pump_ = false;
    // What this turn changed goes to disk before any answer of this turn leaves.
    if (state_ && state_->has_pending()) {
      const std::vector<uint8_t> clock = json::to_cbor(json(vnow()));
      state_->record("meta", "clock", std::string(clock.begin(), clock.end()));
      if (Status st = state_->commit(); !st.is_ok()) {
        std::cerr << "fkemu serve: " << st.message() << "; stopping" << std::endl;
        std::_Exit(1);
      }
    }
    std::vector<std::function<void()>> out;
    out.swap(deferred_);
    for (auto& f : out) f();
    if (!finished) {
      kick();  // more to do: let the sockets have a turn first
      return;
    }
    if (auto next = ex_->next_timer()) {
      pump_timer_.expires_at(start_ + std::chrono::microseconds(*next));
      pump_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) pump();
      });
    }
  }

  // Inside a turn of the executor, what goes out to clients waits for the turn's commit.
  void emit(std::function<void()> f) {
    if (in_pump_) {
      deferred_.push_back(std::move(f));
    } else {
      f();
    }
  }

  void kick() {
    if (pump_posted_) return;
    pump_posted_ = true;
    net::post(ioc_, [this] { pump(); });
  }

  // --- the deployment --------------------------------------------------------------------
  // Switches the executor to a latency model; the choice outlives a reset.
  Status set_latency(const std::string& name, AwsLatencyOptions o) {
    o.user_store_kv = opt_.config.user_store_kv;
    auto m = make_latency_model(name, o, opt_.calibration.get());
    if (!m.is_ok()) return m.status();
    ex_->set_latency_model(*m);
    opt_.latency_model = name;
    opt_.latency_options = o;
    return Status::ok();
  }
  json latency_json() const {
    json j{{"model", opt_.latency_model}};
    if (opt_.latency_model != "zero") {
      j["memory_mb"] = opt_.latency_options.memory_mb;
      j["extra_steps"] = opt_.latency_options.extra_steps;
      j["calibration"] =
          opt_.calibration ? opt_.calibration->study() : CalibrationTable::aws_2024().study();
    }
    return j;
  }

  Status new_service() {
    std::vector<std::tuple<std::string, std::string, std::string>> rows;
    if (state_) rows = state_->load();
    Time clock = 0;
    for (const auto& [space, key, value] : rows)
      if (space == "meta" && key == "clock") {
        auto saved = parse_cbor(value, opt_.data_path + ": the saved clock");
        if (!saved.is_ok()) return saved.status();
        if (!saved->is_number_integer())
          return Status(Code::BadArguments, opt_.data_path + ": the saved clock is damaged");
        clock = saved->get<Time>();
      }
    // The virtual clock continues from the saved state's time.
    start_ = std::chrono::steady_clock::now() - std::chrono::microseconds(clock);
    ex_ = std::make_unique<Executor>(0);
    ex_->start_at(clock);
    if (Status st = set_latency(opt_.latency_model, opt_.latency_options); !st.is_ok()) return st;
    if (fault_config_) {
      faults_ = std::make_unique<FaultPlan>(*ex_, *fault_config_);
      faults_->install();
    }
    service_ = std::make_unique<LocalService>(*ex_, opt_.config);
    if (state_) {
      if (Status st = service_->make_durable(*state_, rows); !st.is_ok())
        return Status(st.code(), opt_.data_path + ": " + st.message());
      if (read_only_) return Status::ok();
      if (Status st = state_->commit(); !st.is_ok()) return st;
    }
    return Status::ok();
  }

  void drop_service();
  void close_sockets(Remote& r);

  void reset() {
    drop_service();
    closed_ids_.clear();
    closed_order_.clear();
    fault_config_.reset();
    if (state_) (void)state_->clear();
    if (Status st = new_service(); !st.is_ok()) {
      std::cerr << "fkemu serve: " << st.message() << "; stopping" << std::endl;
      std::_Exit(1);
    }
    counters_ = Counters{};
    kick();
  }

  void seen(Remote& r) { r.last_seen = vnow(); }

  std::shared_ptr<Remote> open_session(const Done& done) {
    auto r = std::make_shared<Remote>();
    r->id = "s" + random_hex(16);  // 128 bits
    r->secret = random_hex(32);    // 256 bits
    r->last_seen = vnow();
    ClientSession& c = service_->open_session(r->id);
    r->client = &c;
    Remote* rp = r.get();
    c.set_event_listener([this, rp](const json& e) { on_event(*rp, e); });
    c.set_last_seen_source([rp] { return rp->last_seen; });
    remotes_[r->id] = r;
    ++counters_.sessions_opened;
    const json body{{"session", r->id},
                    {"secret", r->secret},
                    {"timeout_ms", opt_.config.session_timeout / kMillisecond}};
    ex_->catch_up(vnow());  // the connect's latency starts now
    std::weak_ptr<Remote> weak = r;
    ex_->spawn("api.connect", connect_task(&c, [this, done, body, weak](Status s) {
                 if (auto live = weak.lock()) live->connected = true;
                 emit([done, body, s] {
                   if (s.is_ok()) {
                     done(201, body);
                   } else {
                     done(500, error_body("SystemError", s.message()));
                   }
                 });
               }));
    kick();
    return r;
  }

  void on_event(Remote& r, const json& e);
  void deliver_event(Remote& r, std::string text);

  void run_op(Remote& r, const Step& st, std::function<void(json)> done) {
    ++counters_.operations[st.op];
    ++r.inflight;
    ex_->catch_up(vnow());  // the operation's latency starts now
    std::weak_ptr<Remote> weak = remotes_.at(r.id);
    const bool closing = st.op == "close";
    ex_->spawn("api." + st.op, op_task(r.client, st, [this, done, weak, closing](OpResult res) {
                 json ans = answer_fields(res);
                 if (!res.status.is_ok() && !res.status.message().empty())
                   ans["message"] = res.status.message();
                 if (auto live = weak.lock()) --live->inflight;
                 emit([this, done, ans, closing] {
                   done(ans);
                   if (closing) net::post(ioc_, [this] { sweep(); });
                 });
               }));
    kick();
  }

  // One WebSocket message of session r; what goes back is given to `send`.
  void ws_message(Remote& r, const std::string& text, std::function<void(std::string)> send) {
    seen(r);
    ++counters_.requests;
    auto parsed = parse_json(text, "the message");
    json msg = parsed.is_ok() ? std::move(*parsed) : json();
    json req_id = nullptr;
    if (msg.is_object() && msg.contains("req")) {
      req_id = msg["req"];
      msg.erase("req");
    }
    auto answer = [send, req_id](unsigned status, json body) {
      body["type"] = "result";
      if (!req_id.is_null()) body["req"] = req_id;
      if (status >= 400) body["status"] = status;
      send(text_of(body));
    };
    if (!parsed.is_ok()) {
      answer(400, error_body("BadRequest", parsed.status().message()));
    } else if (msg.is_object() && msg.contains("type") && msg["type"] == "pong") {
      // a sign of life, nothing to answer
    } else if (auto st = parse_op(r, msg, answer)) {
      run_op(r, *st, [answer](json ans) { answer(200, std::move(ans)); });
    }
  }

  // --- forgetting closed sessions ----------------------------------------------------------
  // A session closed (or expired: the service says it is no longer alive) whose operations are
  // all answered and whose client runs nothing of its own is forgotten: its client, its
  // backlog, its place in the registry. Its id and secret are remembered (the last
  // remembered_closed_sessions of them), so that its requests answer as a closed session's.
  bool forgettable(const Remote& r) const {
    if (!r.connected || r.inflight > 0 || r.client->busy()) return false;
    if (r.client->closed()) return true;
    const auto item = service_->system_store().get(kSessionsTable, r.id);
    return !item || !item->value("alive", false);
  }

  void sweep() {
    if (!service_) return;
    for (auto it = remotes_.begin(); it != remotes_.end();) {
      if (!forgettable(*it->second)) {
        ++it;
        continue;
      }
      closed_ids_[it->first] = it->second->secret;
      closed_order_.push_back(it->first);
      while (closed_order_.size() > opt_.remembered_closed_sessions) {
        closed_ids_.erase(closed_order_.front());
        closed_order_.pop_front();
      }
      close_sockets(*it->second);  // a closed session's WebSockets end
      service_->forget_session(it->first);
      it = remotes_.erase(it);
    }
  }

  void sweep_later() {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      sweep();
      sweep_later();
    });
  }

  size_t live_sessions() const {
    size_t open = 0;
    for (const auto& [id, r] : remotes_) open += r->client->closed() ? 0 : 1;
    return open;
  }

  // Parses an operation (body or WebSocket message); a bad one is answered here.
  std::optional<Step> parse_op(const Remote& r, const json& body, const Done& done) {
    auto st = parse_operation(body, r.id);
    if (!st.is_ok()) {
      done(400, error_body("BadArguments", st.status().message()));
      return std::nullopt;
    }
    if (st->data.size() > opt_.config.max_data_bytes) {
      done(413, error_body("PayloadTooLarge", "data of " + std::to_string(st->data.size()) +
                                                  " bytes is over the limit of " +
                                                  std::to_string(opt_.config.max_data_bytes)));
      return std::nullopt;
    }
    return *st;
  }

  // --- HTTP ------------------------------------------------------------------------------
  std::string handle_raw(std::string_view bytes);
  std::string handle_ws_raw(std::string_view message);
  std::string drive(const std::optional<std::string>& answer);
  void handle(const Request& req, const Done& done);
  void handle_session(const Request& req, const std::string& path, std::string_view query,
                      const Done& done);
  void handle_admin(const Request& req, const std::string& path, const Done& done);
  // The secret a request carries is the session's; answers the request if not. `query`: the
  // WebSocket upgrade, where a browser cannot set headers, may carry it as ?secret=.
  bool check_secret(const Request& req, const std::string& id, const std::string& expected,
                    std::string_view query, const Done& done) {
    std::string secret = bearer(req);
    if (secret.empty()) secret = query_param(query, "secret");
    if (secret.empty()) {
      done(401, error_body("Unauthorized",
                           "session " + id + " needs its secret: Authorization: Bearer SECRET"));
      return false;
    }
    if (!constant_time_equal(secret, expected)) {
      done(403, error_body("Forbidden", "the secret is not session " + id + "'s"));
      return false;
    }
    return true;
  }

  // Finds the session a request names and checks its secret; answers the request if not.
  std::shared_ptr<Remote> authorize(const Request& req, const std::string& id,
                                    std::string_view query, const Done& done) {
    auto it = remotes_.find(id);
    if (it == remotes_.end()) {
      done(404, error_body("NoSession", "no session " + id));
      return nullptr;
    }
    if (!check_secret(req, id, it->second->secret, query, done)) return nullptr;
    seen(*it->second);
    return it->second;
  }

  // A request of a session forgotten after it closed answers as a closed session's does.
  bool answer_forgotten(const Request& req, const std::string& id, const std::string& sub,
                        std::string_view query, const Done& done) {
    auto it = closed_ids_.find(id);
    if (it == closed_ids_.end() || remotes_.count(id)) return false;
    if (!check_secret(req, id, it->second, query, done)) return true;
    if (sub == "events") {
      done(410, error_body("SessionExpired", "session " + id + " is closed"));
    } else if (sub == "ops") {
      auto body = parse_json(req.body(), "the body");
      if (!body.is_ok()) return done(400, error_body("BadRequest", body.status().message())), true;
      auto st = parse_operation(*body, id);
      if (!st.is_ok()) return done(400, error_body("BadArguments", st.status().message())), true;
      // The client's path check comes first, as for a session it still has.
      Status path = st->op == "close"
                        ? Status::ok()
                        : validate_client_path(st->path, st->op == "create" && st->sequential);
      if (st->op == "close") {
        done(200, json{{"kind", "ok"}});
      } else if (!path.is_ok()) {
        done(200, json{{"kind", "error"}, {"error", "BadArguments"}, {"message", path.message()}});
      } else {
        done(200, json{{"kind", "error"}, {"error", "SessionExpired"}});
      }
    } else if (req.method() == http::verb::get) {
      done(200, json{{"session", id}, {"closed", true}, {"backlog", 0}, {"websockets", 0}});
    } else if (req.method() == http::verb::delete_) {
      done(200, json{{"kind", "ok"}});  // closing a closed session does nothing
    } else {
      done(405, error_body("MethodNotAllowed",
                           std::string(req.method_string()) + ": use GET or DELETE"));
    }
    return true;
  }

  json dump() const {
    json system = json::object();
    for (const char* t :
         {kNodesTable, kSessionsTable, kWatchesTable, kEpochTable, kProgressTable}) {
      json table = json::object();
      for (const auto& [key, item] : service_->system_store().scan(t)) table[key] = printable(item);
      system[t] = table;
    }
    json user = json::object();
    for (const auto& [key, obj] : service_->user_store().list()) user[key] = printable(obj);
    json queues = json::object();
    auto queue = [](const MemoryFifoQueue& q) {
      json out = json::array();
      for (const auto& m : q.snapshot())
        out.push_back({{"group", m.group},
                       {"dedup_id", m.dedup_id},
                       {"receive_count", m.receive_count},
                       {"body", printable(m.body)}});
      return out;
    };
    queues["writer"] = queue(service_->writer_queue());
    queues["distributor"] = queue(service_->distributor_queue());
    queues["watch"] = queue(service_->watch_queue());
    return json{{"system", system}, {"user", user}, {"queues", queues}};
  }

  json counters() const {
    json ops = json::object();
    for (const auto& [op, n] : counters_.operations) ops[op] = n;
    return json{{"requests", counters_.requests},
                {"operations", ops},
                {"sessions_opened", counters_.sessions_opened},
                {"sessions_open", live_sessions()},
                {"sessions_kept", remotes_.size()},
                {"watches_delivered", counters_.watches_delivered},
                {"function_invocations",
                 {{"writer", service_->writer_invocations()},
                  {"distributor", service_->distributor_invocations()},
                  {"watch", service_->watch_invocations()},
                  {"heartbeat", service_->heartbeat_invocations()}}}};
  }

  void accept();
  void refuse_connection(tcp::socket sock);
  // Says so on stderr at most once a second (a storm of refused connections must not flood it).
  void log_throttled(const std::string& line) {
    if (opt_.quiet) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log_ < std::chrono::seconds(1)) {
      ++unlogged_;
      return;
    }
    std::cerr << "fkemu serve: " << line;
    if (unlogged_) std::cerr << " (and " << unlogged_ << " more like it)";
    std::cerr << std::endl;
    unlogged_ = 0;
    last_log_ = now;
  }
  // Host and Origin: requests a web page could make (DNS rebinding, cross-origin) are refused.
  bool refuse_foreign(const Request& req, const Done& done) const {
    std::string host;
    if (const auto h = req.find(http::field::host); h != req.end()) {
      host = std::string(h->value());
      // Beyond loopback the machine's names are fine (docker-compose's service name, say):
      // every admin request needs the token there, and sessions need their secrets.
      if (loopback_ && !host_allowed(host)) {
        done(403, error_body("Forbidden", "Host \"" + host +
                                              "\" is not an address of this server: use " + url_ +
                                              " (DNS names other than localhost are "
                                              "refused, against DNS rebinding)"));
        return true;
      }
    }
    if (const auto o = req.find(http::field::origin); o != req.end()) {
      const std::string origin(o->value());
      if (host.empty() || origin != "http://" + host) {
        done(403, error_body("Forbidden", "cross-origin requests are refused (Origin " + origin +
                                              " is not this server)"));
        return true;
      }
    }
    return false;
  }
  // Admin requests that change state need the admin token; beyond loopback, every one does.
  bool refuse_admin(const Request& req, const Done& done) const {
    const bool changes = req.method() != http::verb::get && req.method() != http::verb::head;
    if (!changes && loopback_) return false;
    const std::string token = bearer(req);
    if (token.empty()) {
      done(401, error_body("Unauthorized",
                           std::string(changes ? "this admin request changes state and"
                                               : "beyond loopback, every admin request") +
                               " needs the admin token: Authorization: Bearer TOKEN (fkemu "
                               "serve printed where it is at start)"));
      return true;
    }
    if (!constant_time_equal(token, admin_token_)) {
      done(403, error_body("Forbidden", "that is not the admin token"));
      return true;
    }
    return false;
  }

  void stop_now() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    pump_timer_.cancel();
    accept_timer_.cancel();
    sweep_timer_.cancel();
    ioc_.stop();
  }

  struct Counters {
    uint64_t requests = 0;
    uint64_t sessions_opened = 0;
    uint64_t watches_delivered = 0;
    std::map<std::string, uint64_t> operations;
  };

  ServerOptions opt_;
  std::shared_ptr<size_t> open_connections_ = std::make_shared<size_t>(0);
  size_t max_connections_ = 10000;
  std::string admin_token_, admin_token_file_;
  std::string url_ = "http://127.0.0.1:8980";  // the listener's, once started
  bool loopback_ = true;
  bool read_only_ = false;
  std::chrono::steady_clock::time_point last_log_{};
  uint64_t unlogged_ = 0;
  std::map<std::string, std::string> closed_ids_;  // forgotten closed sessions: id -> secret
  std::deque<std::string> closed_order_;
  net::io_context ioc_{1};
  tcp::acceptor acceptor_;
  net::steady_timer pump_timer_;
  net::steady_timer accept_timer_;
  net::steady_timer sweep_timer_;
  net::signal_set signals_;
  std::chrono::steady_clock::time_point start_;
  bool pump_posted_ = false;
  bool in_pump_ = false;
  std::vector<std::function<void()>> deferred_;
  std::unique_ptr<SqliteState> state_;
  std::unique_ptr<Executor> ex_;
  std::optional<FaultConfig> fault_config_;
  std::unique_ptr<FaultPlan> faults_;
  std::unique_ptr<LocalService> service_;
  std::map<std::string, std::shared_ptr<Remote>> remotes_;
  Counters counters_;
};

// A WebSocket of one session: watch events, and operations with asynchronous answers.
class Server::Impl::WsConn : public std::enable_shared_from_this<WsConn> {
 public:
  WsConn(Impl& s, tcp::socket sock, std::shared_ptr<Remote> r)
      : s_(s), count_(s.open_connections_), ws_(std::move(sock)), r_(std::move(r)) {}

  void accept(Request req) {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    // Ping when idle for half the session timeout; a client that answers nothing for a whole
    // session timeout is gone.
    t.idle_timeout = std::chrono::microseconds(
        std::max<Duration>(s_.opt_.config.session_timeout, 100 * kMillisecond));
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.read_message_max(s_.opt_.max_body_bytes);  // as for an HTTP body
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong || kind == websocket::frame_type::ping)
        if (auto r = live()) s_.seen(*r);
    });
    ws_.async_accept(req, beast::bind_front_handler(&WsConn::on_accept, shared_from_this()));
  }

  // A client that does not read what it asked for is cut off before its answers fill memory.
  void send(std::string text) {
    if (closed_) return;
    queued_ += text.size();
    if (queued_ > kMaxQueuedBytes) {
      s_.log_throttled("closed a WebSocket whose client does not read (over 64 MiB queued)");
      return close();
    }
    out_.push_back(std::move(text));
    if (!writing_) write_next();
  }

  bool open() const { return !closed_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    ws_.async_close(websocket::close_code::going_away,
                    [self = shared_from_this()](beast::error_code) {});
  }

 private:
  // The session, if the server still has it (a reset drops every session).
  Remote* live() {
    auto it = s_.remotes_.find(r_->id);
    return it != s_.remotes_.end() && it->second == r_ ? r_.get() : nullptr;
  }

  void on_accept(beast::error_code ec) {
    if (ec) return;
    Remote* r = live();
    if (!r) return close();
    r->sockets.push_back(weak_from_this());
    ws_.text(true);
    if (r->dropped) {
      send(text_of(json{{"type", "dropped"}, {"events", r->dropped}}));
      r->dropped = 0;
    }
    while (!r->backlog.empty()) {
      send(std::move(r->backlog.front()));
      r->backlog.pop_front();
    }
    read();
  }

  void read() {
    ws_.async_read(buf_, beast::bind_front_handler(&WsConn::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec) {
      closed_ = true;
      return;
    }
    const std::string text = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    Remote* r = live();
    if (!r) return close();
    auto self = shared_from_this();
    s_.ws_message(*r, text, [self](std::string answer) { self->send(std::move(answer)); });
    read();
  }

  void write_next() {
    writing_ = true;
    ws_.async_write(net::buffer(out_.front()),
                    beast::bind_front_handler(&WsConn::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, size_t) {
    queued_ -= out_.front().size();
    out_.pop_front();
    if (ec) {
      closed_ = true;
      writing_ = false;
      out_.clear();
      queued_ = 0;
      return;
    }
    if (out_.empty()) {
      writing_ = false;
    } else {
      write_next();
    }
  }

  Impl& s_;
  ConnCount count_;
  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<Remote> r_;
  beast::flat_buffer buf_;
  static constexpr size_t kMaxQueuedBytes = 64 * 1024 * 1024;
  std::deque<std::string> out_;
  size_t queued_ = 0;  // bytes in out_
  bool writing_ = false;
  bool closed_ = false;
};

// One HTTP connection: requests in order, keep-alive, limits.
class Server::Impl::HttpConn : public std::enable_shared_from_this<HttpConn> {
 public:
  HttpConn(Impl& s, tcp::socket sock)
      : s_(s),
        count_(s.open_connections_),
        stream_(std::move(sock)),
        tokens_(s.opt_.max_requests_per_second) {
    refilled_ = std::chrono::steady_clock::now();
  }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(s_.opt_.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::milliseconds(s_.opt_.idle_timeout_ms));
    http::async_read(stream_, buf_, *parser_,
                     beast::bind_front_handler(&HttpConn::on_read, shared_from_this()));
  }

  bool take_token() {
    const auto now = std::chrono::steady_clock::now();
    const double rate = s_.opt_.max_requests_per_second;
    tokens_ =
        std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - refilled_).count());
    refilled_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return shutdown();
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      linger_ = true;  // read what the client still sends, so that it sees the answer
      return reply(413, error_body("PayloadTooLarge", "the request body is over " +
                                                          std::to_string(s_.opt_.max_body_bytes) +
                                                          " bytes"));
    }
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      return reply(431, error_body("HeadersTooLarge", "the request headers are over 16 KiB"));
    }
    if (ec) {
      if (ec.category() != beast::http::make_error_code(http::error::bad_target).category())
        return shutdown();
      keep_alive_ = false;
      return reply(400, error_body("BadRequest", "malformed HTTP request: " + ec.message()));
    }
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));
    if (!take_token())
      return reply(
          429,
          error_body("TooManyRequests",
                     "over " + std::to_string(static_cast<int>(s_.opt_.max_requests_per_second)) +
                         " requests per second on this connection"));
    stream_.expires_never();  // an operation may wait (for a watch event, say)
    auto self = shared_from_this();
    s_.handle(req, [self](unsigned status, json body) { self->reply(status, body); });
  }

  void upgrade(Request req) {
    const std::string target(req.target());
    const auto parts = split_target(target);  // (no structured binding: clang 14's lambdas)
    const std::string& path = parts.first;
    const std::string_view query = parts.second;
    const std::string prefix = "/v1/sessions/";
    const std::string suffix = "/events";
    auto refuse = [this](unsigned status, json body) {
      keep_alive_ = false;
      reply(status, std::move(body));
    };
    if (path.size() <= prefix.size() + suffix.size() || path.rfind(prefix, 0) != 0 ||
        path.substr(path.size() - suffix.size()) != suffix)
      return refuse(404, error_body("NotFound", "WebSockets live at /v1/sessions/ID/events"));
    const std::string id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    ++s_.counters_.requests;
    if (s_.refuse_foreign(req, refuse)) return;
    if (s_.answer_forgotten(req, id, "events", query, refuse)) return;
    auto r = s_.authorize(req, id, query, refuse);
    if (!r) return;
    stream_.expires_never();
    std::make_shared<WsConn>(s_, stream_.release_socket(), r)->accept(std::move(req));
  }

  void reply(unsigned status, const json& body) {
    auto res =
        std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "fkemu");
    res->set(http::field::content_type, "application/json");
    if (status == 429 || status == 503) res->set(http::field::retry_after, "1");
    res->keep_alive(keep_alive_);
    res->body() = text_of(body) + "\n";
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (!res->keep_alive()) {
                          self->shutdown();
                          if (self->linger_) self->drain();
                          return;
                        }
                        self->read();
                      });
  }

  void shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Discards what the client still sends (at most 64 MiB, for at most 10 s), then closes.
  void drain() {
    if (drained_ > 64 * 1024 * 1024) return;
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_read_some(net::buffer(scratch_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (!ec) self->drain();
                            });
  }

  Impl& s_;
  ConnCount count_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool linger_ = false;
  size_t drained_ = 0;
  std::array<char, 16384> scratch_{};
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
};

void Server::Impl::close_sockets(Remote& r) {
  for (auto& w : r.sockets)
    if (auto s = w.lock()) s->close();
}

void Server::Impl::drop_service() {
  for (auto& [id, r] : remotes_) close_sockets(*r);
  remotes_.clear();
  service_.reset();
  faults_.reset();
  ex_.reset();
}

void Server::Impl::on_event(Remote& r, const json& e) {
  ++counters_.watches_delivered;
  json msg = e;
  msg["type"] = "watch";
  emit([this, id = r.id, text = text_of(msg)]() mutable {
    auto it = remotes_.find(id);
    if (it != remotes_.end()) deliver_event(*it->second, std::move(text));
  });
}

void Server::Impl::deliver_event(Remote& r, std::string text) {
  std::erase_if(r.sockets, [](const std::weak_ptr<WsConn>& w) { return w.expired(); });
  bool sent = false;
  for (auto& w : r.sockets)
    if (auto s = w.lock(); s && s->open()) {
      s->send(text);
      sent = true;
    }
  if (sent) return;
  r.backlog.push_back(std::move(text));
  if (r.backlog.size() > opt_.max_backlog_events) {
    r.backlog.pop_front();
    ++r.dropped;
  }
}

// An error (out of file descriptors, say) is logged and accepting goes on after a pause: the
// listener never stops while the server runs.
void Server::Impl::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (!acceptor_.is_open() || ec == net::error::operation_aborted) return;  // stopped
    if (ec) {
      log_throttled("cannot accept a connection: " + ec.message() + "; trying again in 100 ms");
      accept_timer_.expires_after(std::chrono::milliseconds(100));
      accept_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e) accept();
      });
      return;
    }
    if (*open_connections_ >= max_connections_) {
      log_throttled("refused a connection: " + std::to_string(*open_connections_) +
                    " are open, the most allowed (--max-connections)");
      refuse_connection(std::move(s));
    } else {
      std::make_shared<HttpConn>(*this, std::move(s))->start();
    }
    accept();
  });
}

// Over the connection cap: a 503 that says why, then the connection is closed.
void Server::Impl::refuse_connection(tcp::socket sock) {
  const std::string body =
      text_of(error_body("ServiceUnavailable", "too many connections are open (" +
                                                   std::to_string(max_connections_) +
                                                   ", --max-connections); try again later")) +
      "\n";
  auto text = std::make_shared<std::string>(
      "HTTP/1.1 503 Service Unavailable\r\nServer: fkemu\r\nContent-Type: "
      "application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  auto socket = std::make_shared<tcp::socket>(std::move(sock));
  net::async_write(*socket, net::buffer(*text),
                   [socket, text](const boost::system::error_code&, size_t) {
                     boost::system::error_code e;
                     socket->shutdown(tcp::socket::shutdown_both, e);
                     socket->close(e);
                   });
}

void Server::Impl::handle(const Request& req, const Done& done) {
  ++counters_.requests;
  const std::string target(req.target());
  const auto parts = split_target(target);  // (no structured binding: clang 14's lambdas)
  const std::string& path = parts.first;
  const std::string_view query = parts.second;
  const auto method = req.method();
  if (refuse_foreign(req, done)) return;
  if (has_query_key(query, "secret"))
    return done(400, error_body("BadRequest",
                                "a secret in the URL is refused except on the WebSocket upgrade "
                                "(browsers cannot set its headers): send Authorization: Bearer "
                                "SECRET"));
  auto only = [&](http::verb v) {
    if (method == v) return true;
    done(405, error_body("MethodNotAllowed", std::string(req.method_string()) + " " + path +
                                                 ": use " + std::string(http::to_string(v))));
    return false;
  };
  if (path == "/health") {
    if (only(http::verb::get))
      done(200,
           json{{"status", "ok"}, {"uptime_ms", vnow() / 1000}, {"sessions", live_sessions()}});
    return;
  }
  if (path == "/v1/sessions") {
    if (only(http::verb::post)) {
      if (!req.body().empty()) {
        auto body = parse_json(req.body(), "the body");
        if (!body.is_ok()) return done(400, error_body("BadRequest", body.status().message()));
        if (!body->is_object() || !body->empty())
          return done(400, error_body("BadArguments",
                                      "POST /v1/sessions takes no body (or {}); the session "
                                      "timeout is the server's --session-timeout-ms"));
      }
      if (remotes_.size() >= opt_.max_sessions)
        return done(503, error_body("ServiceUnavailable",
                                    "the server holds " + std::to_string(remotes_.size()) +
                                        " sessions, the most allowed (--max-sessions); close "
                                        "some, or try again later"));
      open_session(done);
    }
    return;
  }
  if (path.rfind("/v1/sessions/", 0) == 0) return handle_session(req, path, query, done);
  if (path.rfind("/admin/", 0) == 0) return handle_admin(req, path, done);
  done(404, error_body("NotFound", "no endpoint " + std::string(req.method_string()) + " " + path +
                                       " (see docs/api.md)"));
}

void Server::Impl::handle_session(const Request& req, const std::string& path,
                                  std::string_view query, const Done& done) {
  std::string rest = path.substr(std::string("/v1/sessions/").size());
  std::string sub;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    sub = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (!sub.empty() && sub != "ops" && sub != "events")
    return done(404, error_body("NotFound", "no endpoint " + path + " (see docs/api.md)"));
  if (answer_forgotten(req, rest, sub, query, done)) return;
  auto r = authorize(req, rest, query, done);
  if (!r) return;
  auto answer = [done](json ans) { done(200, std::move(ans)); };
  if (sub == "events")
    return done(426, error_body("UpgradeRequired", "open a WebSocket on " + path));
  if (sub == "ops") {
    if (req.method() != http::verb::post)
      return done(405, error_body("MethodNotAllowed", "use POST " + path));
    auto body = parse_json(req.body(), "the body");
    if (!body.is_ok()) return done(400, error_body("BadRequest", body.status().message()));
    if (auto st = parse_op(*r, *body, done)) run_op(*r, *st, answer);
    return;
  }
  if (req.method() == http::verb::get) {
    size_t open = 0;
    for (const auto& w : r->sockets) open += w.expired() ? 0 : 1;
    return done(200, json{{"session", r->id},
                          {"closed", r->client->closed()},
                          {"backlog", r->backlog.size()},
                          {"websockets", open}});
  }
  if (req.method() == http::verb::delete_) {
    Step close;
    close.op = "close";
    close.session = r->id;
    return run_op(*r, close, answer);
  }
  done(405, error_body("MethodNotAllowed",
                       std::string(req.method_string()) + " " + path + ": use GET or DELETE"));
}

void Server::Impl::handle_admin(const Request& req, const std::string& path, const Done& done) {
  if (refuse_admin(req, done)) return;
  const auto method = req.method();
  auto body_object = [&]() -> std::optional<json> {
    auto body = parse_json(req.body(), "the body");
    if (!body.is_ok()) {
      done(400, error_body("BadRequest", body.status().message()));
      return std::nullopt;
    }
    if (!body->is_object()) {
      done(400, error_body("BadRequest", "the body must be a JSON object"));
      return std::nullopt;
    }
    return std::move(*body);
  };
  if (path == "/admin/reset" && method == http::verb::post) {
    reset();
    return done(200, json{{"reset", true}});
  }
  if (path == "/admin/dump" && method == http::verb::get) return done(200, dump());
  if (path == "/admin/counters" && method == http::verb::get) return done(200, counters());
  if (path == "/admin/check" && method == http::verb::get) {
    const auto& dead = service_->restored_lock_owners();
    const auto problems = quiescence_problems(
        *service_, [&dead](const std::string& owner) { return dead.count(owner) > 0; });
    return done(200, json{{"quiescent", problems.empty()}, {"problems", problems}});
  }
  if (path == "/admin/faults") {
    if (method == http::verb::get)
      return done(200, json{{"faults", fault_config_ ? json(fault_config_->fire) : json::object()},
                            {"injected", faults_ ? faults_->injected().size() : 0}});
    if (method == http::verb::put) {
      auto body = body_object();
      if (!body) return;
      for (const auto& [site, p] : body->items()) {
        if (!is_fault_site(site))
          return done(400, error_body("BadArguments", "unknown fault site \"" + site +
                                                          "\" (docs/faults.md lists them)"));
        if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
          return done(400, error_body("BadArguments", "fault site \"" + site +
                                                          "\": the probability must be 0 to 1"));
      }
      fault_config_ = FaultConfig::from_json(*body);
      ex_->set_fault_injector(nullptr);
      faults_ = std::make_unique<FaultPlan>(*ex_, *fault_config_);
      faults_->install();
      return done(200, json{{"faults", *body}});
    }
  }
  if (path == "/admin/latency") {
    if (method == http::verb::get) return done(200, latency_json());
    if (method == http::verb::put) {
      auto body = body_object();
      if (!body) return;
      AwsLatencyOptions o = opt_.latency_options;
      for (const auto& [field, value] : body->items()) {
        if (field == "model" && value.is_string()) continue;
        if (field == "memory_mb" && value.is_number_integer()) {
          o.memory_mb = value.get<int>();
        } else if (field == "extra_steps" && value.is_boolean()) {
          o.extra_steps = value.get<bool>();
        } else {
          return done(400,
                      error_body("BadArguments", "unknown or mistyped field \"" + field +
                                                     "\" (known: model, memory_mb, extra_steps)"));
        }
      }
      if (!body->contains("model") || !(*body)["model"].is_string())
        return done(400, error_body("BadArguments", "\"model\" (a string) is missing"));
      const std::string model = (*body)["model"].get<std::string>();
      if (Status st = set_latency(model, o); !st.is_ok())
        return done(400, error_body("BadArguments", st.message()));
      return done(200, latency_json());
    }
  }
  done(404, error_body("NotFound", "no endpoint " + std::string(req.method_string()) + " " + path +
                                       " (see docs/api.md)"));
}

std::string Server::Impl::handle_raw(std::string_view bytes) {
  if (!service_) {
    if (Status st = new_service(); !st.is_ok()) return "500 " + st.message();
  }
  http::request_parser<http::string_body> p;
  p.body_limit(opt_.max_body_bytes);
  p.header_limit(16 * 1024);
  p.eager(true);
  beast::error_code ec;
  p.put(net::buffer(bytes.data(), bytes.size()), ec);
  if (!ec && !p.is_done()) p.put_eof(ec);
  if (ec == http::error::body_limit) return "413 body over the limit";
  if (ec || !p.is_done()) return "400 malformed: " + ec.message();
  Request req = p.release();
  if (websocket::is_upgrade(req)) return "400 no WebSocket here";
  auto answer = std::make_shared<std::optional<std::string>>();
  handle(req, [answer](unsigned status, json body) {
    *answer = std::to_string(status) + " " + text_of(body);
  });
  if (std::string failed = drive(*answer); !failed.empty()) return failed;
  sweep();
  return *answer ? **answer : "504 no answer";
}

// Runs the deployment until `answer` is there (or a bound): for handle_raw and handle_ws_raw.
std::string Server::Impl::drive(const std::optional<std::string>& answer) {
  for (int i = 0; i < 1000 && !answer; ++i) {
    try {
      ex_->advance_to(vnow(), 100000);
    } catch (const std::exception& e) {
      return std::string("500 a process failed: ") + e.what();
    }
  }
  return {};
}

std::string Server::Impl::handle_ws_raw(std::string_view message) {
  if (!service_) {
    if (Status st = new_service(); !st.is_ok()) return "";
  }
  std::shared_ptr<Remote> r;
  for (const auto& [id, remote] : remotes_)
    if (!remote->client->closed()) r = remote;
  if (!r) {
    (void)handle_raw("POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    for (const auto& [id, remote] : remotes_)
      if (!remote->client->closed()) r = remote;
    if (!r) return "";
  }
  auto answer = std::make_shared<std::optional<std::string>>();
  ws_message(*r, std::string(message), [answer](std::string text) { *answer = std::move(text); });
  if (std::string failed = drive(*answer); !failed.empty()) return failed;
  sweep();
  return answer->value_or("");
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
std::string Server::handle_raw(std::string_view request) { return impl_->handle_raw(request); }
std::string Server::handle_ws_raw(std::string_view message) {
  return impl_->handle_ws_raw(message);
}
std::string Server::url() const { return impl_->url(); }
const std::string& Server::admin_token() const { return impl_->admin_token_; }
const std::string& Server::admin_token_file() const { return impl_->admin_token_file_; }
Result<std::string> Server::inspect(const ServerOptions& options) {
  ServerOptions o = options;
  o.quiet = true;
  Impl impl(o);
  return impl.inspect();
}
Server::~Server() = default;
Status Server::start() { return impl_->start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }

}  // namespace fkemu
