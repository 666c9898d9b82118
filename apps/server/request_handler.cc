#include "apps/server/request_handler.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "apps/server/executor_loop.h"
#include "apps/server/session_registry.h"
#include "core/json/json_text.h"
#include "core/model/path.h"

namespace fkemu {

using nlohmann::json;
namespace http = boost::beast::http;

namespace {

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
  boost::asio::ip::make_address(name, ec);
  return !ec;
}

// perform_step, with the step owned by the task (the request that parsed it is gone by then).
Task<OpResult> perform_owned_step(ClientSession* c, Step st) {
  OpResult r = co_await perform_step(*c, st);
  co_return r;
}

}  // namespace

RequestHandler::RequestHandler(const ServerOptions& options, ExecutorLoop& loop,
                               SessionRegistry& sessions)
    : opt_(options), loop_(loop), sessions_(sessions), admin_(loop, sessions) {}

void RequestHandler::set_listening(std::string url, bool loopback, std::string admin_token) {
  url_ = std::move(url);
  loopback_ = loopback;
  admin_.set_access(std::move(admin_token), loopback);
}

void RequestHandler::handle(const Request& req, const Respond& respond) {
  admin_.count_request();
  const std::string target(req.target());
  const auto parts = split_target(target);  // (no structured binding: clang 14's lambdas)
  const std::string& path = parts.first;
  const std::string_view query = parts.second;
  const auto method = req.method();
  if (refuse_foreign(req, respond)) return;
  if (has_query_key(query, "secret"))
    return respond(400, error_body("BadRequest",
                                   "a secret in the URL is refused except on the WebSocket "
                                   "upgrade (browsers cannot set its headers): send "
                                   "Authorization: Bearer SECRET"));
  auto only = [&](http::verb v) {
    if (method == v) return true;
    respond(405, error_body("MethodNotAllowed", std::string(req.method_string()) + " " + path +
                                                    ": use " + std::string(http::to_string(v))));
    return false;
  };
  // What /health, /admin and a session's GET show is what is on disk: while a transaction is
  // under way (or changes wait for one), they answer after it, as operations do (decision 42).
  if (path == "/health") {
    if (only(http::verb::get))
      loop_.emit([this, respond] {
        respond(200, json{{"status", "ok"},
                          {"uptime_ms", loop_.now() / 1000},
                          {"sessions", sessions_.open_count()}});
      });
    return;
  }
  if (path == "/v1/sessions") {
    if (only(http::verb::post)) open_session(req, respond);
    return;
  }
  if (path.rfind("/v1/sessions/", 0) == 0) return handle_session(req, path, query, respond);
  if (path.rfind("/admin/", 0) == 0)
    return loop_.emit([this, req, path, respond] { admin_.handle(req, path, respond); });
  respond(404, error_body("NotFound", "no endpoint " + std::string(req.method_string()) + " " +
                                          path + " (see docs/api.md)"));
}

void RequestHandler::open_session(const Request& req, const Respond& respond) {
  if (!req.body().empty()) {
    auto body = parse_json(req.body(), "the body");
    if (!body.is_ok()) return respond(400, error_body("BadRequest", body.status().message()));
    if (!body->is_object() || !body->empty())
      return respond(400, error_body("BadArguments",
                                     "POST /v1/sessions takes no body (or {}); the session "
                                     "timeout is the server's --session-timeout-ms"));
  }
  if (sessions_.full())
    return respond(503, error_body("ServiceUnavailable",
                                   "the server holds " + std::to_string(sessions_.size()) +
                                       " sessions, the most allowed (--max-sessions); close "
                                       "some, or try again later"));
  const int64_t timeout_ms = opt_.config.session_timeout / kMillisecond;
  sessions_.open([respond, timeout_ms](const std::string& id, const std::string& secret, Status s) {
    if (s.is_ok()) {
      respond(201, json{{"session", id}, {"secret", secret}, {"timeout_ms", timeout_ms}});
    } else {
      respond(500, error_body("SystemError", s.message()));
    }
  });
}

void RequestHandler::handle_session(const Request& req, const std::string& path,
                                    std::string_view query, const Respond& respond) {
  std::string rest = path.substr(std::string("/v1/sessions/").size());
  std::string sub;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    sub = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (!sub.empty() && sub != "ops" && sub != "events")
    return respond(404, error_body("NotFound", "no endpoint " + path + " (see docs/api.md)"));
  if (answer_forgotten(req, rest, sub, query, respond)) return;
  auto r = authorize(req, rest, query, respond);
  if (!r) return;
  auto answer = [respond](json ans) { respond(200, std::move(ans)); };
  if (sub == "events")
    return respond(426, error_body("UpgradeRequired", "open a WebSocket on " + path));
  if (sub == "ops") {
    if (req.method() != http::verb::post)
      return respond(405, error_body("MethodNotAllowed", "use POST " + path));
    auto body = parse_json(req.body(), "the body");
    if (!body.is_ok()) return respond(400, error_body("BadRequest", body.status().message()));
    if (auto st = parse_op(*r, *body, respond)) run_op(*r, *st, answer);
    return;
  }
  if (req.method() == http::verb::get) {
    return loop_.emit([this, respond, r] {
      respond(200, json{{"session", r->id},
                        {"closed", r->client->closed()},
                        {"backlog", r->backlog.size()},
                        {"websockets", sessions_.open_sockets(*r)}});
    });
  }
  if (req.method() == http::verb::delete_) {
    Step close;
    close.op = "close";
    close.session = r->id;
    return run_op(*r, close, answer);
  }
  respond(405, error_body("MethodNotAllowed",
                          std::string(req.method_string()) + " " + path + ": use GET or DELETE"));
}

void RequestHandler::run_op(RemoteSession& r, const Step& step, std::function<void(json)> done) {
  admin_.count_operation(step.op);
  ++r.inflight;
  std::weak_ptr<RemoteSession> weak = sessions_.find(r.id);
  const bool closing = step.op == "close";
  loop_.spawn_then("api." + step.op, perform_owned_step(r.client, step),
                   [this, done, weak, closing](OpResult res) {
                     json ans = answer_fields(res);
                     if (!res.status.is_ok() && !res.status.message().empty())
                       ans["message"] = res.status.message();
                     if (auto live = weak.lock()) --live->inflight;
                     loop_.emit([this, done, ans, closing] {
                       done(ans);
                       if (closing) sessions_.sweep_soon();
                     });
                   });
}

// Parses an operation (a body or a WebSocket message); a bad one is answered here.
std::optional<Step> RequestHandler::parse_op(const RemoteSession& r, const json& body,
                                             const Respond& respond) const {
  auto st = parse_operation(body, r.id);
  if (!st.is_ok()) {
    respond(400, error_body("BadArguments", st.status().message()));
    return std::nullopt;
  }
  if (st->data.size() > opt_.config.max_data_bytes) {
    respond(413, error_body("PayloadTooLarge", "data of " + std::to_string(st->data.size()) +
                                                   " bytes is over the limit of " +
                                                   std::to_string(opt_.config.max_data_bytes)));
    return std::nullopt;
  }
  return *st;
}

// Host and Origin: requests a web page could make (DNS rebinding, cross-origin) are refused.
bool RequestHandler::refuse_foreign(const Request& req, const Respond& respond) const {
  std::string host;
  if (const auto h = req.find(http::field::host); h != req.end()) {
    host = std::string(h->value());
    // Beyond loopback the machine's names are fine (docker-compose's service name, say): every
    // admin request needs the token there, and sessions need their secrets.
    if (loopback_ && !host_allowed(host)) {
      respond(403, error_body("Forbidden", "Host \"" + host +
                                               "\" is not an address of this server: use " + url_ +
                                               " (DNS names other than localhost are "
                                               "refused, against DNS rebinding)"));
      return true;
    }
  }
  if (const auto o = req.find(http::field::origin); o != req.end()) {
    const std::string origin(o->value());
    if (host.empty() || origin != "http://" + host) {
      respond(403, error_body("Forbidden", "cross-origin requests are refused (Origin " + origin +
                                               " is not this server)"));
      return true;
    }
  }
  return false;
}

// The secret a request carries is the session's; answers the request if not. `query`: the
// WebSocket upgrade, where a browser cannot set headers, may carry it as ?secret=.
bool RequestHandler::check_secret(const Request& req, const std::string& id,
                                  const std::string& expected, std::string_view query,
                                  const Respond& respond) const {
  std::string secret = bearer(req);
  if (secret.empty()) secret = query_param(query, "secret");
  if (secret.empty()) {
    respond(401, error_body("Unauthorized",
                            "session " + id + " needs its secret: Authorization: Bearer SECRET"));
    return false;
  }
  if (!constant_time_equal(secret, expected)) {
    respond(403, error_body("Forbidden", "the secret is not session " + id + "'s"));
    return false;
  }
  return true;
}

// Finds the session a request names and checks its secret; answers the request if not.
std::shared_ptr<RemoteSession> RequestHandler::authorize(const Request& req, const std::string& id,
                                                         std::string_view query,
                                                         const Respond& respond) {
  auto r = sessions_.find(id);
  // A server restarted on its state file takes up the sessions the state holds.
  if (!r)
    r = sessions_.recover(id, bearer(req).empty() ? query_param(query, "secret") : bearer(req));
  if (!r) {
    respond(404, error_body("NoSession", "no session " + id));
    return nullptr;
  }
  if (!check_secret(req, id, r->secret, query, respond)) return nullptr;
  sessions_.seen(*r);
  return r;
}

// A request of a session forgotten after it closed answers as a closed session's does.
bool RequestHandler::answer_forgotten(const Request& req, const std::string& id,
                                      const std::string& sub, std::string_view query,
                                      const Respond& respond) const {
  const std::string* secret = sessions_.forgotten_secret(id);
  if (!secret) return false;
  if (!check_secret(req, id, *secret, query, respond)) return true;
  if (sub == "events") {
    respond(410, error_body("SessionExpired", "session " + id + " is closed"));
  } else if (sub == "ops") {
    auto body = parse_json(req.body(), "the body");
    if (!body.is_ok()) return respond(400, error_body("BadRequest", body.status().message())), true;
    auto st = parse_operation(*body, id);
    if (!st.is_ok()) return respond(400, error_body("BadArguments", st.status().message())), true;
    // The client's path check comes first, as for a session it still has (a multi's, every
    // operation's; a close and an add_auth have no path).
    Status path = Status::ok();
    int failed_op = -1;
    if (st->op == "multi") {
      for (size_t i = 0; i < st->ops.size() && path.is_ok(); ++i) {
        const Step& o = st->ops[i];
        path = validate_client_path(o.path, o.op == "create" && o.sequential);
        if (!path.is_ok()) failed_op = static_cast<int>(i);
      }
    } else if (st->op != "close" && st->op != "add_auth") {
      path = validate_client_path(st->path, st->op == "create" && st->sequential);
    }
    if (st->op == "close") {
      respond(200, json{{"kind", "ok"}});
    } else if (!path.is_ok()) {
      json e{{"kind", "error"}, {"error", "BadArguments"}, {"message", path.message()}};
      if (failed_op >= 0) e["failed_op"] = failed_op;
      respond(200, e);
    } else {
      respond(200, json{{"kind", "error"}, {"error", "SessionExpired"}});
    }
  } else if (req.method() == http::verb::get) {
    respond(200, json{{"session", id}, {"closed", true}, {"backlog", 0}, {"websockets", 0}});
  } else if (req.method() == http::verb::delete_) {
    respond(200, json{{"kind", "ok"}});  // closing a closed session does nothing
  } else {
    respond(405, error_body("MethodNotAllowed",
                            std::string(req.method_string()) + ": use GET or DELETE"));
  }
  return true;
}

std::shared_ptr<RemoteSession> RequestHandler::authorize_upgrade(const Request& req,
                                                                 const Respond& refuse) {
  const std::string target(req.target());
  const auto parts = split_target(target);
  const std::string& path = parts.first;
  const std::string_view query = parts.second;
  const std::string prefix = "/v1/sessions/";
  const std::string suffix = "/events";
  if (path.size() <= prefix.size() + suffix.size() || path.rfind(prefix, 0) != 0 ||
      path.substr(path.size() - suffix.size()) != suffix) {
    refuse(404, error_body("NotFound", "WebSockets live at /v1/sessions/ID/events"));
    return nullptr;
  }
  const std::string id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  admin_.count_request();
  if (refuse_foreign(req, refuse)) return nullptr;
  if (answer_forgotten(req, id, "events", query, refuse)) return nullptr;
  return authorize(req, id, query, refuse);
}

void RequestHandler::handle_message(RemoteSession& r, const std::string& text,
                                    std::function<void(std::string)> send) {
  sessions_.seen(r);
  admin_.count_request();
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
    send(json_text(body));
  };
  if (!parsed.is_ok()) {
    answer(400, error_body("BadRequest", parsed.status().message()));
  } else if (msg.is_object() && msg.contains("type") && msg["type"] == "pong") {
    // a sign of life, nothing to answer
  } else if (auto st = parse_op(r, msg, answer)) {
    run_op(r, *st, [answer](json ans) { answer(200, std::move(ans)); });
  }
}

std::string RequestHandler::answer_now(const Request& req) {
  auto answer = std::make_shared<std::optional<std::string>>();
  handle(req, [answer](unsigned status, json body) {
    *answer = std::to_string(status) + " " + json_text(body);
  });
  if (std::string failed = loop_.run_until([&answer] { return answer->has_value(); });
      !failed.empty())
    return failed;
  sessions_.sweep();
  return *answer ? **answer : "504 no answer";
}

std::string RequestHandler::message_now(const std::string& text) {
  auto r = sessions_.any_open();
  if (!r) {
    Request open{http::verb::post, "/v1/sessions", 11};
    open.set(http::field::host, "127.0.0.1");
    (void)answer_now(open);  // its answer is the session, found next
    r = sessions_.any_open();
    if (!r) return "";
  }
  auto answer = std::make_shared<std::optional<std::string>>();
  handle_message(*r, text, [answer](std::string sent) { *answer = std::move(sent); });
  if (std::string failed = loop_.run_until([&answer] { return answer->has_value(); });
      !failed.empty())
    return failed;
  sessions_.sweep();
  return answer->value_or("");
}

}  // namespace fkemu
