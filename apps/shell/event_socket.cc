#include "apps/shell/event_socket.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "apps/shell/http_client.h"
#include "core/json/json_text.h"

namespace fkemu::shell_client {

namespace {

using nlohmann::json;
namespace beast = boost::beast;
namespace net = boost::asio;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

}  // namespace

EventSocket::EventSocket() : ws_(ioc_) {
  if (::pipe(pipe_) == 0) {
    ::fcntl(pipe_[0], F_SETFL, ::fcntl(pipe_[0], F_GETFL) | O_NONBLOCK);
    ::fcntl(pipe_[1], F_SETFL, ::fcntl(pipe_[1], F_GETFL) | O_NONBLOCK);
  } else {
    pipe_[0] = pipe_[1] = -1;
  }
}

EventSocket::~EventSocket() {
  shutdown();
  for (int fd : pipe_)
    if (fd >= 0) ::close(fd);
}

Status EventSocket::open(const Url& u, const std::string& session, const std::string& secret) {
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
  async_connect_to(u, resolver, lowest, result, [&] {
    ws_.async_handshake(res, host, target, [&](beast::error_code ec) { result = ec; });
  });
  ioc_.run();
  ioc_.restart();
  if (result) {
    if (result == websocket::error::upgrade_declined) {
      HttpAnswer a;
      a.status = res.result_int();
      a.body = from_server(res.body());
      return Status(Code::ConnectionLoss, "the server refused the WebSocket (" + refusal(a) + ")");
    }
    return Status(Code::ConnectionLoss, describe(result));
  }
  lowest.expires_never();  // from here on, the WebSocket's own timeouts
  auto t = websocket::stream_base::timeout::suggested(beast::role_type::client);
  t.handshake_timeout = std::chrono::seconds(5);  // the closing handshake
  ws_.set_option(t);
  ws_.text(true);
  guard_.emplace(ioc_.get_executor());
  read();
  thread_ = std::thread([this] { ioc_.run(); });
  return Status::ok();
}

Result<json> EventSocket::request(json op, std::chrono::seconds timeout) {
  int64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status(Code::ConnectionLoss, closed_why_);
    id = ++next_req_;
  }
  op["req"] = id;
  net::post(ioc_, [this, text = json_text(op)]() mutable { send(std::move(text)); });
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return results_.count(id) > 0 || closed_; });
  if (auto it = results_.find(id); it != results_.end()) {
    json r = std::move(it->second);
    results_.erase(it);
    return r;
  }
  if (closed_) return Status(Code::ConnectionLoss, closed_why_);
  return Status(Code::OperationTimeout,
                "no answer within " + std::to_string(timeout.count()) + " s");
}

std::vector<Notice> EventSocket::take_notices() {
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

bool EventSocket::alive() {
  std::lock_guard<std::mutex> lock(mu_);
  return !closed_;
}

void EventSocket::expect_end() {
  std::lock_guard<std::mutex> lock(mu_);
  end_expected_ = true;
}

void EventSocket::shutdown() {
  if (!thread_.joinable()) return;
  net::post(ioc_, [this] {
    closing_ = true;
    if (!writing_) ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  });
  guard_.reset();
  thread_.join();
}

void EventSocket::read() {
  ws_.async_read(buf_, [this](beast::error_code ec, size_t) { on_read(ec); });
}

void EventSocket::on_read(beast::error_code ec) {
  if (ec) {
    lost(ec == websocket::error::closed ? "the server closed the WebSocket" : describe(ec));
    return;
  }
  const std::string text = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  handle(from_server(text));
  read();
}

void EventSocket::handle(json m) {
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

void EventSocket::send(std::string text) {
  if (closing_) return;
  out_.push_back(std::move(text));
  if (!writing_) write_next();
}

// One write at a time, as Beast requires; the queue keeps the operations in order.
void EventSocket::write_next() {
  writing_ = true;
  ws_.async_write(net::buffer(out_.front()),
                  [this](beast::error_code ec, size_t) { on_write(ec); });
}

void EventSocket::on_write(beast::error_code ec) {
  out_.pop_front();
  if (ec) {
    writing_ = false;
    out_.clear();
    lost(describe(ec));
    return;
  }
  if (!out_.empty()) return write_next();
  writing_ = false;
  // A close requested during the write waited for it (Beast allows one write at a time).
  if (closing_) ws_.async_close(websocket::close_code::normal, [](beast::error_code) {});
}

void EventSocket::lost(const std::string& why) {
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

void EventSocket::notice(bool watch, std::string text) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    notices_.push_back({watch, std::move(text)});
  }
  if (pipe_[1] >= 0) {
    const char byte = 'n';
    [[maybe_unused]] const ssize_t n = ::write(pipe_[1], &byte, 1);  // full: already woken
  }
}

}  // namespace fkemu::shell_client
