// The API's messages as every part of fkemu serve sees them: a request as Beast parsed it, and an
// answer, which is always an HTTP status and a JSON body (docs/api.md). The functions here depend
// on their arguments only; any thread may call them.
#pragma once

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace fkemu {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
// Takes the answer to one request, exactly once: at once, or later on the I/O thread when the
// deployment has answered.
using Respond = std::function<void(unsigned status, nlohmann::json body)>;

nlohmann::json error_body(const std::string& error, const std::string& message);

// The token of "Authorization: Bearer TOKEN", or "" if the request has none.
std::string bearer(const Request& req);

// Compares secrets in a time that does not depend on where they differ.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace fkemu
