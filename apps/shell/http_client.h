// The shell's HTTP requests to fkemu serve (docs/api.md), and the reading of its JSON answers.
//
// http_call makes one request on a connection of its own, with an io_context of its own, and
// blocks its caller until the answer or kHttpTimeout: it shares nothing, so any thread may call
// it, several at once. The other functions are pure.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "apps/shell/server_url.h"
#include "core/status.h"

namespace fkemu::shell_client {

// The longest the shell waits to connect, or for an HTTP answer.
inline constexpr auto kHttpTimeout = std::chrono::seconds(10);

struct HttpAnswer {
  unsigned status = 0;
  nlohmann::json body;  // discarded if the body is not JSON
};

// Sends `verb target` (with "Authorization: Bearer secret" unless `secret` is empty) and reads
// the answer: any HTTP status is an answer. ConnectionLoss, describing why, if none came.
Result<HttpAnswer> http_call(const Url& url, boost::beast::http::verb verb,
                             const std::string& target, const std::string& secret);

// Starts resolving `url` and connecting `stream` to it, on the io_context of both, which the
// caller then runs; `then` runs once connected. On an error `result` is set and `then` does not
// run. The arguments must outlive that run.
void async_connect_to(const Url& url, boost::asio::ip::tcp::resolver& resolver,
                      boost::beast::tcp_stream& stream, boost::beast::error_code& result,
                      std::function<void()> then);

// "HTTP 404: no session s1": a refusal, with the server's message or error code if it gave one.
std::string refusal(const HttpAnswer& a);

// "connection refused" (from "Connection refused"), to fit in a sentence; a timeout as
// "no answer within 10 s".
std::string describe(const boost::beast::error_code& ec);

// A server's answer, read with fkemu's limits (no deep nesting, no duplicate keys); anything
// else is a discarded value, which the callers treat as "not JSON".
nlohmann::json from_server(std::string_view text);

// A field of an answer as text, whatever its type ("" when absent, null, or `j` not an object).
std::string text_of(const nlohmann::json& j, const char* key);

}  // namespace fkemu::shell_client
