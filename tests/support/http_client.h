// A blocking HTTP/1.1 client for the tests and the soak of fkemu serve: one request on a new
// connection (http_once), or several on one kept-alive connection (HttpConnection). Reads give
// up after a timeout, so a test that waits for the wrong thing fails instead of hanging.
//
// Each object is used by one thread; any number of them may run at once.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace fkemu::testing {

struct HttpAnswer {
  unsigned status = 0;  // 0: no answer (no connection, or it broke)
  nlohmann::json body;  // discarded if the body is not JSON
  std::string retry_after;
  bool keep_alive = true;
};

using HttpHeaders = std::map<std::string, std::string>;

// "Authorization: Bearer SECRET", or no header for an empty secret.
inline HttpHeaders bearer(const std::string& secret) {
  if (secret.empty()) return {};
  return {{"Authorization", "Bearer " + secret}};
}

// Blocking reads on `socket` give up after `seconds`.
inline void set_read_timeout(boost::asio::ip::tcp::socket& socket, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Writes one request on `socket` and reads its answer, whose body may be at most `body_limit`
// bytes. A body gets "Content-Type: application/json" unless `headers` name another. Throws on
// an I/O error.
inline HttpAnswer exchange(boost::asio::ip::tcp::socket& socket, boost::beast::http::verb verb,
                           const std::string& target, const std::string& body,
                           const HttpHeaders& headers, size_t body_limit = 64 * 1024 * 1024) {
  namespace http = boost::beast::http;
  http::request<http::string_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  http::read(socket, buf, parser);
  HttpAnswer a;
  a.status = parser.get().result_int();
  a.body = nlohmann::json::parse(parser.get().body(), nullptr, false);
  if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end())
    a.retry_after = std::string(it->value());
  a.keep_alive = parser.get().keep_alive();
  return a;
}

// One request on a new connection to 127.0.0.1:port; status 0 if it could not be made.
inline HttpAnswer http_once(uint16_t port, boost::beast::http::verb verb, const std::string& target,
                            const std::string& body = {}, const HttpHeaders& headers = {},
                            int timeout_s = 10) {
  try {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    set_read_timeout(s, timeout_s);
    return exchange(s, verb, target, body, headers);
  } catch (const std::exception&) {
    return {};
  }
}

// One kept-alive connection to 127.0.0.1:port. request() throws if the connection breaks.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port, int timeout_s = 20) : socket_(ioc_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    set_read_timeout(socket_, timeout_s);
  }
  HttpAnswer request(boost::beast::http::verb verb, const std::string& target,
                     const std::string& body = {}, const HttpHeaders& headers = {}) {
    return exchange(socket_, verb, target, body, headers);
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace fkemu::testing
