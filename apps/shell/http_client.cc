#include "apps/shell/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/json/json_text.h"

namespace fkemu::shell_client {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

}  // namespace

void async_connect_to(const Url& u, tcp::resolver& resolver, beast::tcp_stream& stream,
                      beast::error_code& result, std::function<void()> then) {
  resolver.async_resolve(
      u.host, u.port,
      [&stream, &result, then = std::move(then)](beast::error_code ec,
                                                 tcp::resolver::results_type rs) mutable {
        if (ec) {
          result = ec;
          return;
        }
        stream.async_connect(
            rs, [&result, then = std::move(then)](beast::error_code ec2, const tcp::endpoint&) {
              if (ec2) {
                result = ec2;
                return;
              }
              then();
            });
      });
}

Result<HttpAnswer> http_call(const Url& u, http::verb verb, const std::string& target,
                             const std::string& secret) {
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
  async_connect_to(u, resolver, stream, result, [&] {
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      if (ec) {
        result = ec;
        return;
      }
      http::async_read(stream, buf, parser, [&](beast::error_code ec2, size_t) { result = ec2; });
    });
  });
  ioc.run();
  if (result) return Status(Code::ConnectionLoss, describe(result));
  HttpAnswer answer;
  answer.status = parser.get().result_int();
  answer.body = from_server(parser.get().body());
  beast::error_code ignored;  // the answer is in; a failed shutdown changes nothing
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return answer;
}

std::string refusal(const HttpAnswer& a) {
  std::string m = "HTTP " + std::to_string(a.status);
  const std::string what = text_of(a.body, "message");
  const std::string code = text_of(a.body, "error");
  if (!what.empty()) return m + ": " + what;
  if (!code.empty()) return m + ": " + code;
  return m;
}

std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout)
    return "no answer within " + std::to_string(kHttpTimeout.count()) + " s";
  std::string m = ec.message();
  // Lower the first letter of a sentence, not of an acronym ("EOF").
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && !(m.size() > 1 && m[1] >= 'A' && m[1] <= 'Z'))
    m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m;
}

nlohmann::json from_server(std::string_view text) {
  auto parsed = fkemu::parse_json(text, "the answer");
  return parsed.is_ok() ? std::move(*parsed) : nlohmann::json(nlohmann::json::value_t::discarded);
}

std::string text_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return json_text(*it);
}

}  // namespace fkemu::shell_client
