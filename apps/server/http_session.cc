#include "apps/server/http_session.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <string>

#include "apps/server/request_handler.h"
#include "apps/server/ws_session.h"
#include "core/json/json_text.h"

namespace fkemu {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpSession::HttpSession(tcp::socket socket, const ConnectionContext& context, ConnectionSlot slot)
    : context_(context),
      slot_(std::move(slot)),
      stream_(std::move(socket)),
      tokens_(context.limits.max_requests_per_second),
      refilled_(std::chrono::steady_clock::now()) {}

void HttpSession::start() { read(); }

void HttpSession::read() {
  parser_.emplace();
  parser_->body_limit(context_.limits.max_body_bytes);
  parser_->header_limit(kMaxHeaderBytes);
  stream_.expires_after(std::chrono::milliseconds(context_.limits.idle_timeout_ms));
  http::async_read(stream_, buf_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

bool HttpSession::take_token() {
  const auto now = std::chrono::steady_clock::now();
  const double rate = context_.limits.max_requests_per_second;
  tokens_ = std::min(rate, tokens_ + rate * std::chrono::duration<double>(now - refilled_).count());
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void HttpSession::on_read(beast::error_code ec, size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    return shutdown();
  }
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    linger_ = true;  // read what the client still sends, so that it sees the answer
    return reply(413, error_body("PayloadTooLarge",
                                 "the request body is over " +
                                     std::to_string(context_.limits.max_body_bytes) + " bytes"));
  }
  if (ec == http::error::header_limit) {
    keep_alive_ = false;
    return reply(431, error_body("HeadersTooLarge", "the request headers are over 16 KiB"));
  }
  if (ec) {
    if (ec.category() != http::make_error_code(http::error::bad_target).category())
      return shutdown();
    keep_alive_ = false;
    return reply(400, error_body("BadRequest", "malformed HTTP request: " + ec.message()));
  }
  Request req = parser_->release();
  keep_alive_ = req.keep_alive();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
  if (!take_token())
    return reply(
        429,
        error_body("TooManyRequests",
                   "over " +
                       std::to_string(static_cast<int>(context_.limits.max_requests_per_second)) +
                       " requests per second on this connection"));
  stream_.expires_never();  // an operation may wait (for a watch event, say)
  auto self = shared_from_this();
  context_.handler.handle(
      req, [self](unsigned status, nlohmann::json body) { self->reply(status, body); });
}

void HttpSession::upgrade(Request req) {
  auto refuse = [this](unsigned status, nlohmann::json body) {
    keep_alive_ = false;
    reply(status, std::move(body));
  };
  auto session = context_.handler.authorize_upgrade(req, refuse);
  if (!session) return;
  stream_.expires_never();
  auto ws = std::make_shared<WsSession>(stream_.release_socket(), context_, std::move(slot_),
                                        std::move(session));
  ws->accept(req);
}

void HttpSession::reply(unsigned status, const nlohmann::json& body) {
  auto res =
      std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  res->set(http::field::server, "fkemu");
  res->set(http::field::content_type, "application/json");
  if (status == 429 || status == 503) res->set(http::field::retry_after, "1");
  res->keep_alive(keep_alive_);
  res->body() = json_text(body) + "\n";
  res->prepare_payload();
  http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    if (ec) return;
    if (!res->keep_alive()) {
      self->shutdown();
      if (self->linger_) self->drain();
      return;
    }
    self->read();
  });
}

void HttpSession::shutdown() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Discards what the client still sends (at most 64 MiB, for at most 10 s), then closes.
void HttpSession::drain() {
  if (drained_ > 64 * 1024 * 1024) return;
  stream_.expires_after(std::chrono::seconds(10));
  stream_.async_read_some(net::buffer(scratch_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->drained_ += n;
                            if (!ec) self->drain();
                          });
}

}  // namespace fkemu
