#include "apps/shell/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "core/json/json_text.h"
#include "core/text/base64.h"

// libedit's readline compatibility header; after the C++ headers (it declares C names only).
#include <editline/readline.h>

namespace fkemu {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

constexpr auto kHttpTimeout = std::chrono::seconds(10);
constexpr auto kAnswerTimeout = std::chrono::seconds(60);
constexpr auto kCompletionTimeout = std::chrono::seconds(5);

// A server's answer, read with fkemu's limits (no deep nesting, no duplicate keys); anything
// else is a discarded value, which the callers treat as "not JSON".
json from_server(std::string_view text) {
  auto parsed = fkemu::parse_json(text, "the answer");
  return parsed.is_ok() ? std::move(*parsed) : json(json::value_t::discarded);
}

// "Connection refused" -> "connection refused", to fit in a sentence.
std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "no answer within 10 s";
  std::string m = ec.message();
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && !(m.size() > 1 && m[1] >= 'A' && m[1] <= 'Z'))
    m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m;
}

// A field of an answer as text, whatever its type ("" when absent).
std::string text_of(const json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A line for the shell to print between commands: a watch event (or the news that some were
// dropped), which printwatches off hides, or a notice about the connection, which it does not.
struct Notice {
  bool watch = false;
  std::string text;
};

// --- URLs ----------------------------------------------------------------------------------

struct Url {
  std::string host;
  std::string port = "8980";

  std::string host_port() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }
  std::string text() const { return "http://" + host_port(); }
};

// "http://HOST:PORT", "HOST:PORT", "HOST" (port 8980), "[IPv6]:PORT"; a trailing "/" is fine.
std::optional<Url> parse_url(std::string s, std::string& why) {
  const std::string original = s;
  why = "not a server URL: \"" + original + "\" (expected http://HOST:PORT)";
  if (const size_t p = s.find("://"); p != std::string::npos) {
    std::string scheme = s.substr(0, p);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "ws") {
      why = "not a server URL: \"" + original + "\" (only http:// is supported)";
      return std::nullopt;
    }
    s = s.substr(p + 3);
  }
  if (const size_t slash = s.find('/'); slash != std::string::npos) {
    if (s.substr(slash) != "/") return std::nullopt;
    s = s.substr(0, slash);
  }
  Url u;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = s.substr(1, close - 1);
    const std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      u.port = rest.substr(1);
    }
  } else if (const size_t colon = s.rfind(':'); colon != std::string::npos) {
    if (s.find(':') != colon) return std::nullopt;  // an IPv6 address goes in brackets
    u.host = s.substr(0, colon);
    u.port = s.substr(colon + 1);
  } else {
    u.host = s;
  }
  if (u.host.empty()) return std::nullopt;
  if (u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(u.port) < 1 ||
      std::stoi(u.port) > 65535) {
    why = "not a server URL: \"" + original + "\" (the port must be a number from 1 to 65535)";
    return std::nullopt;
  }
  return u;
}

// --- HTTP ----------------------------------------------------------------------------------

struct HttpAnswer {
  unsigned status = 0;
  json body;
};

// One request on a connection of its own, within kHttpTimeout. False (and `error`) if there
// is no answer; any HTTP status is an answer.
bool http_call(const Url& u, http::verb verb, const std::string& target, const std::string& secret,
               HttpAnswer& answer, std::string& error) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buf;
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, u.host_port());
  req.set(http::field::user_agent, "fkemu-shell");
  if (!secret.empty()) req.set(http::field::authorization, "Bearer " + secret);
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code result;
  stream.expires_after(kHttpTimeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
    if (ec) {
      result = ec;
      return;
    }
    stream.async_connect(rs, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) {
        result = ec2;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec3, size_t) {
        if (ec3) {
          result = ec3;
          return;
        }
        http::async_read(stream, buf, parser, [&](beast::error_code ec4, size_t) { result = ec4; });
      });
    });
  });
  ioc.run();
  if (result) {
    error = describe(result);
    return false;
  }
  answer.status = parser.get().result_int();
  answer.body = from_server(parser.get().body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return true;
}

// "HTTP 404: no session s1" from a refusal.
std::string refusal(const HttpAnswer& a) {
  std::string m = "HTTP " + std::to_string(a.status);
  const std::string what = text_of(a.body, "message");
  const std::string code = text_of(a.body, "error");
  if (!what.empty()) return m + ": " + what;
  if (!code.empty()) return m + ": " + code;
  return m;
}

// --- the session's WebSocket ---------------------------------------------------------------

// The WebSocket of one session, read and written by a thread of its own (Asio, asynchronous):
// a read is always in progress, so the server's pings get their pongs and the session stays
// alive while the shell waits for a command. Operations go over the socket and their answers
// are matched by `req`; watch events and notices queue up for the shell, and a byte on
// notify_fd() tells that one came.
class EventSocket {
 public:
  EventSocket() : ws_(ioc_) {
    if (::pipe(pipe_) == 0) {
      ::fcntl(pipe_[0], F_SETFL, ::fcntl(pipe_[0], F_GETFL) | O_NONBLOCK);
      ::fcntl(pipe_[1], F_SETFL, ::fcntl(pipe_[1], F_GETFL) | O_NONBLOCK);
    } else {
      pipe_[0] = pipe_[1] = -1;
    }
  }
  ~EventSocket() {
    shutdown();
    for (int fd : pipe_)
      if (fd >= 0) ::close(fd);
  }
  EventSocket(const EventSocket&) = delete;
  EventSocket& operator=(const EventSocket&) = delete;

  // Connects, upgrades and starts the thread; false (and `error`) if it cannot.
  bool open(const Url& u, const std::string& session, const std::string& secret,
            std::string& error) {
    tcp::resolver resolver(ioc_);
    websocket::response_type res;
    beast::error_code result;
    const std::string target = "/v1/sessions/" + session + "/events";
    const std::string host = u.host_port();
    ws_.set_option(websocket::stream_base::decorator([secret](websocket::request_type& r) {
      r.set(http::field::authorization, "Bearer " + secret);
      r.set(http::field::user_agent, "fkemu-shell");
    }));
    auto& lowest = beast::get_lowest_layer(ws_);
    lowest.expires_after(kHttpTimeout);
    resolver.async_resolve(
        u.host, u.port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
          if (ec) {
            result = ec;
            return;
          }
          lowest.async_connect(rs, [&](beast::error_code ec2, const tcp::endpoint&) {
            if (ec2) {
              result = ec2;
              return;
            }
            ws_.async_handshake(res, host, target, [&](beast::error_code ec3) { result = ec3; });
          });
        });
    ioc_.run();
    ioc_.restart();
    if (result) {
      if (result == websocket::error::upgrade_declined) {
        HttpAnswer a;
        a.status = res.result_int();
        a.body = from_server(res.body());
        error = "the server refused the WebSocket (" + refusal(a) + ")";
      } else {
        error = describe(result);
      }
      return false;
    }
    lowest.expires_never();  // from here on, the WebSocket's own timeouts
    auto t = websocket::stream_base::timeout::suggested(beast::role_type::client);
    t.handshake_timeout = std::chrono::seconds(5);  // the closing handshake
    ws_.set_option(t);
    ws_.text(true);
    guard_.emplace(ioc_.get_executor());
    read();
    thread_ = std::thread([this] { ioc_.run(); });
    return true;
  }

  // Sends an operation and waits for its answer; nullopt (and `error`) if the socket is gone or
  // no answer came in time.
  std::optional<json> request(json op, std::string& error,
                              std::chrono::seconds timeout = kAnswerTimeout) {
    int64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) {
        error = closed_why_;
        return std::nullopt;
      }
      id = ++next_req_;
    }
    op["req"] = id;
    net::post(ioc_, [this, text = dump(op)]() mutable { send(std::move(text)); });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return results_.count(id) > 0 || closed_; });
    if (auto it = results_.find(id); it != results_.end()) {
      json r = std::move(it->second);
      results_.erase(it);
      return r;
    }
    error = closed_ ? closed_why_ : "no answer within " + std::to_string(timeout.count()) + " s";
    return std::nullopt;
  }

  // Watch events and notices that came since the last call, in order.
  std::vector<Notice> take_notices() {
    if (pipe_[0] >= 0) {
      char scratch[256];
      while (::read(pipe_[0], scratch, sizeof scratch) > 0) {
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Notice> out;
    out.swap(notices_);
    return out;
  }

  int notify_fd() const { return pipe_[0]; }

  bool alive() {
    std::lock_guard<std::mutex> lock(mu_);
    return !closed_;
  }

  // The shell is closing the session: the server ending the WebSocket is expected, not news.
  void expect_end() {
    std::lock_guard<std::mutex> lock(mu_);
    end_expected_ = true;
  }

  // Closes the socket (the closing handshake, at most 5 s) and stops the thread.
  void shutdown() {
    if (!thread_.joinable()) return;
    net::post(ioc_, [this] {
      closing_ = true;
      if (!writing_) ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
    });
    guard_.reset();
    thread_.join();
  }

 private:
  void read() {
    ws_.async_read(buf_, [this](beast::error_code ec, size_t) { on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      lost(ec == websocket::error::closed ? "the server closed the WebSocket" : describe(ec));
      return;
    }
    const std::string text = beast::buffers_to_string(buf_.data());
    buf_.consume(buf_.size());
    handle(from_server(text));
    read();
  }

  void handle(json m) {
    if (!m.is_object()) return;
    const std::string type = text_of(m, "type");
    if (type == "result") {
      const auto it = m.find("req");
      if (it == m.end() || !it->is_number_integer()) return;
      const int64_t id = it->get<int64_t>();
      {
        std::lock_guard<std::mutex> lock(mu_);
        results_[id] = std::move(m);
      }
      cv_.notify_all();
    } else if (type == "watch") {
      notice(true, "WATCHER:: event " + text_of(m, "event") + " path " + text_of(m, "path") +
                       " zxid " + text_of(m, "zxid"));
    } else if (type == "dropped") {
      notice(true, "WATCHER:: " + text_of(m, "events") +
                       " events were dropped while no WebSocket was open");
    }
  }

  void send(std::string text) {
    if (closing_) return;
    out_.push_back(std::move(text));
    if (!writing_) write_next();
  }

  void write_next() {
    writing_ = true;
    ws_.async_write(net::buffer(out_.front()),
                    [this](beast::error_code ec, size_t) { on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    out_.pop_front();
    if (ec) {
      writing_ = false;
      out_.clear();
      lost(describe(ec));
      return;
    }
    if (!out_.empty()) return write_next();
    writing_ = false;
    if (closing_) ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

  void lost(const std::string& why) {
    bool expected = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      closed_why_ = "the connection is lost (" + why + "); connect opens a new session";
      expected = end_expected_;
    }
    cv_.notify_all();
    if (!closing_ && !expected)
      notice(false, "Connection lost: " + why + " (connect opens a new session)");
  }

  void notice(bool watch, std::string text) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      notices_.push_back({watch, std::move(text)});
    }
    if (pipe_[1] >= 0) {
      const char byte = 'n';
      [[maybe_unused]] const ssize_t n = ::write(pipe_[1], &byte, 1);  // full: already woken
    }
  }

  net::io_context ioc_{1};
  websocket::stream<beast::tcp_stream> ws_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_;
  std::thread thread_;
  // The socket's thread only:
  beast::flat_buffer buf_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool closing_ = false;
  bool end_expected_ = false;  // guarded by mu_
  // Shared, under mu_:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::string closed_why_;
  int64_t next_req_ = 0;
  std::map<int64_t, json> results_;
  std::vector<Notice> notices_;
  int pipe_[2] = {-1, -1};
};

// --- commands ------------------------------------------------------------------------------

const std::vector<std::string> kCommands = {
    "create",       "get",  "set",   "delete",  "deleteall", "ls",   "stat",
    "printwatches", "sync", "close", "connect", "help",      "quit", "exit"};

const char* kHelp =
    "Commands:\n"
    "  create [-e] [-s] PATH [DATA]  create a node (-e ephemeral, -s sequential)\n"
    "  get [-s] [-w] PATH            print a node's data (-s: and its stat; -w: watch its data)\n"
    "  set PATH DATA [VERSION]       set a node's data (only at VERSION, if given)\n"
    "  delete PATH [VERSION]         delete a node (only at VERSION, if given)\n"
    "  deleteall PATH                delete a node and all its descendants, children first\n"
    "  ls [-s] [-w] [-R] PATH        list a node's children (-s: then its stat; -w: watch them;\n"
    "                                -R: the paths of its whole subtree, one a line)\n"
    "  stat [-w] PATH                print a node's stat if it exists (-w: watch it)\n"
    "  printwatches [on|off]         print watch events or not (alone: which it is)\n"
    "  sync PATH                     not supported: FaaSKeeper has no sync\n"
    "  close                         close the session\n"
    "  connect [URL]                 open a new session (on URL, or the same server)\n"
    "  help                          this list\n"
    "  quit, exit                    close the session and leave\n"
    "Words may be quoted (\"a b\", 'a b'); a line starting with # is a comment.\n";

// Why `sync` is refused (docs/api.md, "Shell").
const char* kNoSync =
    "FaaSKeeper has no sync: every read is served from the strongly consistent user store, "
    "which a write reaches before it is answered, and a session's reads come after its own "
    "writes";

// Splits a command line into words: blanks separate them, quotes and backslashes keep them.
bool split_words(const std::string& line, std::vector<std::string>& words, std::string& why) {
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) {
    why = std::string("unterminated ") + quote + " quote";
    return false;
  }
  if (in_word) words.push_back(word);
  return true;
}

// Flags (-e, -s, -w, or together as -es) before the other arguments.
struct Args {
  std::string flags;
  std::vector<std::string> rest;
};

bool parse_args(const std::vector<std::string>& words, const std::string& allowed, Args& a,
                std::string& why) {
  size_t i = 1;
  for (; i < words.size() && words[i].size() > 1 && words[i][0] == '-'; ++i)
    for (char f : words[i].substr(1)) {
      if (allowed.find(f) == std::string::npos) {
        why = "unknown option -" + std::string(1, f);
        return false;
      }
      a.flags += f;
    }
  a.rest.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  return true;
}

bool parse_version(const std::string& s, int32_t& v) {
  if (s.empty() || s.size() > 11 || s.find_first_not_of("-0123456789") != std::string::npos ||
      s.find('-', 1) != std::string::npos || s == "-")
    return false;
  const long long n = std::stoll(s);
  if (n < INT32_MIN || n > INT32_MAX) return false;
  v = static_cast<int32_t>(n);
  return true;
}

void put_data(const std::string& bytes, json& op) {
  if (is_valid_utf8(bytes)) {
    op["data"] = bytes;
  } else {
    op["data_b64"] = base64_encode(bytes);
  }
}

class Shell {
 public:
  Shell(std::ostream& out, bool interactive) : out_(out), interactive_(interactive) {}
  ~Shell() { disconnect(); }
  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  // Opens a session on `u` with its WebSocket; false (and `error`) if it cannot.
  bool connect(const Url& u, std::string& error) {
    url_ = u;
    HttpAnswer a;
    if (!http_call(u, http::verb::post, "/v1/sessions", "", a, error)) {
      error = "cannot reach " + u.text() + ": " + error;
      return false;
    }
    const std::string session = text_of(a.body, "session"), secret = text_of(a.body, "secret");
    if (a.status != 201 || session.empty() || secret.empty()) {
      error = u.text() + " did not open a session (" + refusal(a) + ")";
      return false;
    }
    auto ws = std::make_unique<EventSocket>();
    if (!ws->open(u, session, secret, error)) {
      error = "cannot open the WebSocket of session " + session + " on " + u.text() + ": " + error;
      HttpAnswer ignored;
      std::string ignored_error;
      http_call(u, http::verb::delete_, "/v1/sessions/" + session, secret, ignored, ignored_error);
      return false;
    }
    session_ = session;
    secret_ = secret;
    ws_ = std::move(ws);
    if (interactive_)
      out_ << "Connected to " << u.text() << ": session " << session_ << ", timeout "
           << text_of(a.body, "timeout_ms") << " ms (help lists the commands)" << std::endl;
    return true;
  }

  // Closes the session, if there is one; false if the server did not answer. With the
  // connection already lost, it tries quietly.
  bool disconnect() {
    if (!ws_) return true;
    const bool quiet = !ws_->alive();
    ws_->expect_end();  // the server closes a closed session's WebSocket
    HttpAnswer a;
    std::string error;
    const bool answered =
        http_call(url_, http::verb::delete_, "/v1/sessions/" + session_, secret_, a, error);
    print_notices();
    ws_.reset();
    session_.clear();
    secret_.clear();
    if (quiet) return answered;
    if (!answered) {
      out_ << "Error: cannot close the session: " << error << "\n";
      failed_ = true;
      return false;
    }
    if (a.status >= 400) {
      out_ << "Error: cannot close the session: " << refusal(a) << "\n";
      failed_ = true;
    }
    return true;
  }

  // Runs one command line; false when the shell should stop.
  bool execute(const std::string& line) {
    print_notices();
    std::vector<std::string> words;
    std::string why;
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') return true;
    ++commands_;
    if (!split_words(line, words, why)) {
      out_ << "Error: " << why << "\n";
      return true;
    }
    if (words.empty()) return true;
    const std::string& cmd = words[0];
    if (cmd == "quit" || cmd == "exit") return false;
    if (cmd == "help") {
      out_ << kHelp;
    } else if (cmd == "connect") {
      connect_command(words);
    } else if (cmd == "close") {
      if (words.size() != 1) {
        out_ << "Usage: close\n";
      } else if (!ws_) {
        out_ << "Error: not connected\n";
      } else {
        disconnect();
      }
    } else if (cmd == "printwatches") {
      printwatches_command(words);
    } else if (cmd == "sync") {
      out_ << "Error: sync is not supported: " << kNoSync << "\n";
    } else if (cmd == "create" || cmd == "get" || cmd == "set" || cmd == "delete" ||
               cmd == "deleteall" || cmd == "ls" || cmd == "stat") {
      node_command(words);
    } else {
      out_ << "Error: unknown command \"" << cmd << "\" (help lists the commands)\n";
    }
    out_.flush();
    return true;
  }

  // Prints the watch events and notices that came, if any.
  void print_notices() {
    if (!ws_) return;
    for (const auto& n : ws_->take_notices())
      if (print_watches_ || !n.watch) out_ << n.text << "\n";
    out_.flush();
  }

  // The same while libedit shows the prompt: over the prompt's line, then the prompt again.
  void print_notices_over_prompt() {
    if (!ws_) return;
    std::vector<std::string> lines;
    for (auto& n : ws_->take_notices())
      if (print_watches_ || !n.watch) lines.push_back(std::move(n.text));
    if (lines.empty()) return;
    out_ << "\r\033[K";
    for (const auto& l : lines) out_ << l << "\n";
    out_.flush();
    rl_set_prompt(prompt().c_str());  // CLOSED if the connection was lost
    rl_forced_update_display();
  }

  int notify_fd() const { return ws_ ? ws_->notify_fd() : -1; }

  std::string prompt() const {
    return "[fkemu: " + url_.host_port() + (ws_ && ws_->alive() ? "(CONNECTED) " : "(CLOSED) ") +
           std::to_string(commands_) + "] ";
  }

  // The children of `path`, for completion (nothing if they cannot be had).
  std::vector<std::string> children(const std::string& path) {
    std::vector<std::string> out;
    if (!ws_) return out;
    std::string error;
    auto r = ws_->request({{"op", "get_children"}, {"path", path}}, error, kCompletionTimeout);
    if (!r || text_of(*r, "kind") != "ok" || !r->contains("children") ||
        !(*r)["children"].is_array())
      return out;
    for (const auto& c : (*r)["children"])
      if (c.is_string()) out.push_back(c.get<std::string>());
    return out;
  }

  bool failed() const { return failed_; }

 private:
  void connect_command(const std::vector<std::string>& words) {
    if (words.size() > 2) {
      out_ << "Usage: connect [URL]\n";
      return;
    }
    Url target = url_;
    if (words.size() == 2) {
      std::string why;
      auto u = parse_url(words[1], why);
      if (!u) {
        out_ << "Error: " << why << "\n";
        return;
      }
      target = *u;
    }
    disconnect();
    std::string error;
    if (!connect(target, error)) {
      out_ << "Error: " << error << "\n";
      failed_ = true;
    }
  }

  // printwatches: alone, says whether watch events are printed; on or off sets it (for this
  // shell, across connect), as zkCli's does.
  void printwatches_command(const std::vector<std::string>& words) {
    if (words.size() == 1) {
      out_ << "printwatches is " << (print_watches_ ? "on" : "off") << "\n";
    } else if (words.size() == 2 && (words[1] == "on" || words[1] == "off")) {
      print_watches_ = words[1] == "on";
    } else {
      out_ << "Usage: printwatches [on|off]\n";
    }
  }

  void node_command(const std::vector<std::string>& words) {
    const std::string& cmd = words[0];
    static const std::map<std::string, std::pair<std::string, std::string>> usage = {
        {"create", {"es", "create [-e] [-s] PATH [DATA]"}},
        {"get", {"sw", "get [-s] [-w] PATH"}},
        {"set", {"", "set PATH DATA [VERSION]"}},
        {"delete", {"", "delete PATH [VERSION]"}},
        {"deleteall", {"", "deleteall PATH"}},
        {"ls", {"swR", "ls [-s] [-w] [-R] PATH"}},
        {"stat", {"w", "stat [-w] PATH"}},
    };
    const auto& [allowed, text] = usage.at(cmd);
    Args a;
    std::string why;
    size_t min = 1, max = 1;
    if (cmd == "create") max = 2;
    if (cmd == "set") {
      min = 2;
      max = 3;
    }
    if (cmd == "delete") max = 2;
    if (!parse_args(words, allowed, a, why) || a.rest.size() < min || a.rest.size() > max) {
      if (!why.empty()) out_ << "Error: " << why << "\n";
      out_ << "Usage: " << text << "\n";
      return;
    }
    const std::string& path = a.rest[0];
    const bool watch = a.flags.find('w') != std::string::npos;
    const bool with_stat = a.flags.find('s') != std::string::npos;
    json op{{"path", path}};
    if (watch) op["watch"] = true;
    int32_t version = -1;
    const size_t version_at = cmd == "set" ? 2 : 1;
    if ((cmd == "set" || cmd == "delete") && a.rest.size() > version_at &&
        !parse_version(a.rest[version_at], version)) {
      out_ << "Error: the version must be a number, not \"" << a.rest[version_at] << "\"\n";
      return;
    }
    if (!ws_) {
      out_ << "Error: not connected (connect [URL] opens a session)\n";
      return;
    }
    if (cmd == "create") {
      op["op"] = "create";
      put_data(a.rest.size() > 1 ? a.rest[1] : "", op);
      json flags = json::array();
      if (a.flags.find('e') != std::string::npos) flags.push_back("ephemeral");
      if (a.flags.find('s') != std::string::npos) flags.push_back("sequential");
      if (!flags.empty()) op["flags"] = flags;
      if (auto r = run(op, path)) out_ << "Created " << text_of(*r, "path") << "\n";
    } else if (cmd == "get") {
      op["op"] = "get_data";
      if (auto r = run(op, path)) {
        if (r->contains("data_b64")) {
          out_ << "(base64) " << text_of(*r, "data_b64") << "\n";
        } else {
          out_ << text_of(*r, "data") << "\n";
        }
        if (with_stat) print_stat(r->value("stat", json::object()));
      }
    } else if (cmd == "set") {
      op["op"] = "set_data";
      put_data(a.rest[1], op);
      if (version != -1) op["version"] = version;
      if (auto r = run(op, path)) print_stat(r->value("stat", json::object()));
    } else if (cmd == "delete") {
      op["op"] = "delete";
      if (version != -1) op["version"] = version;
      run(op, path);
    } else if (cmd == "deleteall") {
      delete_tree(path);
    } else if (cmd == "ls" && a.flags.find('R') != std::string::npos) {
      list_tree(path, watch);  // -s is ignored with -R, as zkCli does
    } else if (cmd == "ls") {
      op["op"] = "get_children";
      if (auto r = run(op, path)) {
        const auto children = children_of(*r);
        out_ << "[";
        for (size_t i = 0; i < children.size(); ++i) out_ << (i ? ", " : "") << children[i];
        out_ << "]\n";
        if (with_stat) print_stat(r->value("stat", json::object()));
      }
    } else if (cmd == "stat") {
      op["op"] = "exists";
      if (auto r = run(op, path)) {
        if (!r->contains("stat") || !(*r)["stat"].is_object()) {
          out_ << "Error: NoNode (" << path << ")\n";
        } else {
          print_stat((*r)["stat"]);
        }
      }
    }
  }

  // ls -R, as zkCli 3.8 does it (ZKUtil.visitSubTreeDFS): the node's data is read (with -w,
  // a data watch), then, from the node down, each node's children are listed (with -w, a
  // child watch on each), sorted, their paths printed before the subtree of each is. A node
  // deleted meanwhile is passed over; any other error ends the listing.
  void list_tree(const std::string& root, bool watch) {
    json first{{"op", "get_data"}, {"path", root}};
    if (watch) first["watch"] = true;
    if (!run(first, root)) return;
    out_ << root << "\n";
    std::vector<std::string> pending{root};
    while (!pending.empty()) {
      const std::string node = std::move(pending.back());
      pending.pop_back();
      json op{{"op", "get_children"}, {"path", node}};
      if (watch) op["watch"] = true;
      const auto r = ask(op);
      if (!r) return;
      if (text_of(*r, "kind") != "ok") {
        if (text_of(*r, "error") == "NoNode") continue;
        print_error(*r, node);
        return;
      }
      const std::string prefix = node == "/" ? node : node + "/";
      const auto children = children_of(*r);
      for (const auto& c : children) out_ << prefix << c << "\n";
      for (auto it = children.rbegin(); it != children.rend(); ++it)
        pending.push_back(prefix + *it);
    }
  }

  // deleteall, as zkCli 3.8 does it (ZKUtil.deleteRecursive): the subtree is listed breadth
  // first (an error there deletes nothing), then deleted in the reverse order, so children go
  // before their parent. The API has no multi: the nodes are deleted one at a time (as zkCli's
  // -b 1 would), and the first failure stops it, leaving what was deleted before it deleted.
  void delete_tree(const std::string& root) {
    std::vector<std::string> tree{root};
    for (size_t i = 0; i < tree.size(); ++i) {
      const auto r = run({{"op", "get_children"}, {"path", tree[i]}}, tree[i]);
      if (!r) return;
      const std::string prefix = tree[i] == "/" ? tree[i] : tree[i] + "/";
      for (const auto& c : r->value("children", json::array()))
        tree.push_back(prefix + (c.is_string() ? c.get<std::string>() : dump(c)));
    }
    for (size_t i = tree.size(); i-- > 0;) {
      if (!run({{"op", "delete"}, {"path", tree[i]}}, tree[i])) {
        out_ << "Failed to delete some node(s) in the subtree!\n";
        return;
      }
    }
  }

  // The children of an answer, sorted as zkCli sorts them.
  static std::vector<std::string> children_of(const json& r) {
    std::vector<std::string> out;
    for (const auto& c : r.value("children", json::array()))
      out.push_back(c.is_string() ? c.get<std::string>() : dump(c));
    std::sort(out.begin(), out.end());
    return out;
  }

  // Sends an operation; prints the events that came before its answer. Nullopt (and the error
  // printed) if no answer came; otherwise the answer, a ZooKeeper error or not.
  std::optional<json> ask(const json& op) {
    std::string error;
    auto r = ws_->request(op, error);
    print_notices();
    if (!r) {
      out_ << "Error: " << error << "\n";
      failed_ = true;
      return std::nullopt;
    }
    if (r->contains("status")) failed_ = true;  // refused at the HTTP level (4xx)
    return r;
  }

  // "Error: NoNode (/a)", with the server's message if it gave one.
  void print_error(const json& r, const std::string& path) {
    const std::string message = text_of(r, "message");
    out_ << "Error: " << text_of(r, "error") << " (" << path << ")"
         << (message.empty() ? "" : ": " + message) << "\n";
  }

  // Runs an operation; prints the events that came before its answer, and the error if it
  // failed (nullopt then).
  std::optional<json> run(const json& op, const std::string& path) {
    auto r = ask(op);
    if (!r) return std::nullopt;
    if (text_of(*r, "kind") != "ok") {
      print_error(*r, path);
      return std::nullopt;
    }
    return r;
  }

  // One field a line, as zkCli prints a Stat (zxids and times as the server gives them).
  void print_stat(const json& st) {
    auto num = [&](const char* k) {
      const std::string v = text_of(st, k);
      return v.empty() ? std::string("0") : v;
    };
    const std::string owner = text_of(st, "ephemeralOwner");
    out_ << "cZxid = " << num("czxid") << "\n"
         << "ctime = " << num("ctime") << "\n"
         << "mZxid = " << num("mzxid") << "\n"
         << "mtime = " << num("mtime") << "\n"
         << "pZxid = " << num("pzxid") << "\n"
         << "cversion = " << num("cversion") << "\n"
         << "dataVersion = " << num("version") << "\n"
         << "aclVersion = " << num("aversion") << "\n"
         << "ephemeralOwner = " << (owner.empty() ? "0x0" : owner) << "\n"
         << "dataLength = " << num("dataLength") << "\n"
         << "numChildren = " << num("numChildren") << "\n";
  }

  std::ostream& out_;
  const bool interactive_;
  Url url_;
  std::string session_, secret_;
  std::unique_ptr<EventSocket> ws_;
  int commands_ = 0;
  bool failed_ = false;
  bool print_watches_ = true;
};

// --- the terminal (libedit) ----------------------------------------------------------------

// libedit's callbacks take no context: the one interactive shell of the process.
Shell* g_shell = nullptr;
std::vector<std::string> g_candidates;
size_t g_next_candidate = 0;
std::optional<std::string> g_line;
bool g_eof = false;

void on_line(char* line) {
  if (line == nullptr) {
    g_eof = true;
    return;
  }
  g_line = line;
  std::free(line);
}

char* next_candidate(const char* text, int state) {
  if (state == 0) g_next_candidate = 0;
  const size_t n = std::strlen(text);
  while (g_next_candidate < g_candidates.size()) {
    const std::string& c = g_candidates[g_next_candidate++];
    if (c.compare(0, n, text) == 0) return ::strdup(c.c_str());
  }
  return nullptr;
}

// Command names as the first word; node paths (the children of the parent, asked over the
// API) as a word starting with /.
char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;
  g_candidates.clear();
  const std::string before(rl_line_buffer, static_cast<size_t>(start));
  const std::string word(text);
  if (before.find_first_not_of(" \t") == std::string::npos) {
    g_candidates = kCommands;
    rl_completion_append_character = ' ';
  } else if (!word.empty() && word[0] == '/' && g_shell) {
    const size_t slash = word.rfind('/');
    const std::string parent = slash == 0 ? "/" : word.substr(0, slash);
    const std::string prefix = slash == 0 ? "/" : parent + "/";
    for (const auto& c : g_shell->children(parent)) g_candidates.push_back(prefix + c);
    rl_completion_append_character = '\0';
  } else {
    return nullptr;
  }
  return rl_completion_matches(text, next_candidate);
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = ::getpwuid(::getuid());
    if (pw == nullptr) return {};
    home = pw->pw_dir;
  }
  return std::string(home) + "/.fkemu_history";
}

void run_terminal(Shell& sh, std::ostream& out) {
  g_shell = &sh;
  g_eof = false;
  g_line.reset();
  rl_readline_name = "fkemu";
  rl_attempted_completion_function = complete;
  rl_initialize();
  using_history();
  stifle_history(1000);
  const std::string history = history_file();
  if (!history.empty()) read_history(history.c_str());  // best effort: none the first time

  bool running = true;
  rl_callback_handler_install(sh.prompt().c_str(), on_line);
  while (running && !g_eof) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sh.notify_fd(), POLLIN, 0}};
    const nfds_t n = fds[1].fd >= 0 ? 2 : 1;
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 2 && (fds[1].revents & POLLIN)) sh.print_notices_over_prompt();
    if (fds[0].revents & POLLIN) {
      rl_callback_read_char();
    } else if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      g_eof = true;
    }
    if (g_line) {
      const std::string line = std::move(*g_line);
      g_line.reset();
      if (line.find_first_not_of(" \t") != std::string::npos) {
        add_history(line.c_str());
        if (!history.empty()) write_history(history.c_str());
      }
      running = sh.execute(line);
      sh.print_notices();
      if (running) rl_callback_handler_install(sh.prompt().c_str(), on_line);
    }
  }
  if (g_eof) out << std::endl;
  rl_callback_handler_remove();
  g_shell = nullptr;
}

}  // namespace

int run_shell(const std::string& url, std::istream& in, std::ostream& out, std::ostream& err,
              bool interactive) {
  std::string why;
  const auto u = parse_url(url, why);
  if (!u) {
    err << "fkemu shell: " << why << "\n";
    return 2;
  }
  try {
    Shell sh(out, interactive);
    std::string error;
    if (!sh.connect(*u, error)) {
      err << "fkemu shell: " << error << "\n";
      return 1;
    }
    if (interactive) {
      run_terminal(sh, out);
    } else {
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!sh.execute(line)) break;
      }
    }
    sh.disconnect();
    out.flush();
    return sh.failed() ? 1 : 0;
  } catch (const std::exception& e) {
    err << "fkemu shell: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fkemu
