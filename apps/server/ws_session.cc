#include "apps/server/ws_session.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>

#include "apps/server/request_handler.h"

namespace fkemu {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

WsSession::WsSession(boost::asio::ip::tcp::socket socket, const ConnectionContext& context,
                     ConnectionSlot slot, std::shared_ptr<RemoteSession> session)
    : context_(context),
      slot_(std::move(slot)),
      ws_(std::move(socket)),
      session_(std::move(session)) {}

void WsSession::accept(const Request& req) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(30);
  t.idle_timeout = std::chrono::microseconds(
      std::max<Duration>(context_.limits.session_timeout, 100 * kMillisecond));
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(context_.limits.max_body_bytes);  // as for an HTTP body
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong || kind == websocket::frame_type::ping)
      if (auto r = live()) context_.sessions.seen(*r);
  });
  ws_.async_accept(req, beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
}

void WsSession::send(std::string text) {
  if (closed_) return;
  queued_ += text.size();
  if (queued_ > kMaxQueuedBytes) {
    context_.log.line("closed a WebSocket whose client does not read (over 64 MiB queued)");
    return close();
  }
  out_.push_back(std::move(text));
  if (!writing_) write_next();
}

void WsSession::close() {
  if (closed_) return;
  closed_ = true;
  ws_.async_close(websocket::close_code::going_away,
                  [self = shared_from_this()](beast::error_code) {});
}

RemoteSession* WsSession::live() {
  return context_.sessions.holds(*session_) ? session_.get() : nullptr;
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;
  RemoteSession* r = live();
  if (!r) return close();
  ws_.text(true);
  context_.sessions.attach(*r, shared_from_this());
  read();
}

void WsSession::read() {
  ws_.async_read(buf_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, size_t) {
  if (ec) {
    closed_ = true;
    return;
  }
  const std::string text = beast::buffers_to_string(buf_.data());
  buf_.consume(buf_.size());
  RemoteSession* r = live();
  if (!r) return close();
  auto self = shared_from_this();
  context_.handler.handle_message(*r, text,
                                  [self](std::string answer) { self->send(std::move(answer)); });
  read();
}

void WsSession::write_next() {
  writing_ = true;
  ws_.async_write(boost::asio::buffer(out_.front()),
                  beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_write(beast::error_code ec, size_t) {
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

}  // namespace fkemu
