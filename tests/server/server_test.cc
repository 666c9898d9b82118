// fkemu serve through real HTTP and WebSocket clients on loopback: every example of
// docs/api.md, secrets, limits, watch events over the WebSocket in zxid order, expiry of a
// session whose client went quiet, and 500 watchers notified by one write.
#include "apps/server/server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/server/test_server.h"
#include "tests/support/http_client.h"

using namespace fkemu;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

using Answer = testing::HttpAnswer;

// One HTTP/1.1 connection (keep-alive); a secret goes in the Authorization header.
class Client {
 public:
  explicit Client(uint16_t port) : connection_(port) {}
  Answer request(http::verb verb, const std::string& target, const std::string& body = {},
                 const std::string& secret = {}) {
    return connection_.request(verb, target, body, testing::bearer(secret));
  }

 private:
  testing::HttpConnection connection_;
};

struct Session {
  std::string id, secret;
};

Session open_session(Client& c) {
  Answer a = c.request(http::verb::post, "/v1/sessions");
  REQUIRE(a.status == 201);
  return {a.body.at("session").get<std::string>(), a.body.at("secret").get<std::string>()};
}

Answer op(Client& c, const Session& s, const json& body) {
  return c.request(http::verb::post, "/v1/sessions/" + s.id + "/ops", body.dump(), s.secret);
}

class Ws {
 public:
  Ws(uint16_t port, const Session& s) : ws_(ioc_) {
    auto& sock = ws_.next_layer();
    sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    testing::set_read_timeout(sock, 20);
    ws_.set_option(websocket::stream_base::decorator([&](websocket::request_type& r) {
      r.set(http::field::authorization, "Bearer " + s.secret);
    }));
    ws_.handshake("127.0.0.1", "/v1/sessions/" + s.id + "/events");
    ws_.text(true);
  }
  void send(const json& j) { ws_.write(net::buffer(j.dump())); }
  json receive() {
    beast::flat_buffer buf;
    ws_.read(buf);
    return json::parse(beast::buffers_to_string(buf.data()));
  }
  // Receives until a result for request `req` arrives; watch events on the way are kept.
  json result(int req) {
    for (;;) {
      json m = receive();
      if (m.value("type", "") == "result" && m.value("req", -1) == req) return m;
      events.push_back(m);
    }
  }
  std::vector<json> events;

 private:
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
};

// `expected` holds in `actual`: equal scalars and arrays, objects key by key (extra keys in
// actual are fine), and the string "*" matches anything.
bool matches(const json& expected, const json& actual, std::string& why, const std::string& at) {
  if (expected == "*") return true;
  if (expected.is_object()) {
    if (!actual.is_object()) {
      why = at + ": expected an object, got " + actual.dump();
      return false;
    }
    for (const auto& [k, v] : expected.items()) {
      if (!actual.contains(k)) {
        why = at + "." + k + ": missing in " + actual.dump();
        return false;
      }
      if (!matches(v, actual[k], why, at + "." + k)) return false;
    }
    return true;
  }
  if (expected.is_array() && actual.is_array() && expected.size() == actual.size()) {
    for (size_t i = 0; i < expected.size(); ++i)  // element by element, each as above
      if (!matches(expected[i], actual[i], why, at + "[" + std::to_string(i) + "]")) return false;
    return true;
  }
  if (expected != actual) {
    why = at + ": expected " + expected.dump() + ", got " + actual.dump();
    return false;
  }
  return true;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("every example of docs/api.md answers as documented", "[server]") {
  std::ifstream in(std::string(FKEMU_SOURCE_DIR) + "/docs/api.md");
  REQUIRE(in);
  // Examples are a ```http block (request line, headers, blank line, body) followed by a
  // ```json block whose first line is the status and the rest the expected body.
  std::vector<std::pair<std::string, std::string>> examples;
  std::string line, block, lang, pending_request;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line.rfind("```", 0) == 0 && line.size() > 3) {
      inside = true;
      lang = line.substr(3);
      block.clear();
    } else if (inside && line == "```") {
      inside = false;
      if (lang == "http") pending_request = block;
      if (lang == "json" && !pending_request.empty()) {
        examples.emplace_back(pending_request, block);
        pending_request.clear();
      }
    } else if (inside) {
      block += line + "\n";
    }
  }
  REQUIRE(examples.size() >= 10);

  TestServer srv;
  Client c(srv.port);
  // $SESSION, $SECRET, $OTHER, $OTHER_SECRET, $ADMIN_TOKEN
  std::map<std::string, std::string> vars{{"$ADMIN_TOKEN", srv.server.admin_token()}};
  for (const auto& [request, response] : examples) {
    std::string req = request, res = response;
    for (auto it = vars.rbegin(); it != vars.rend(); ++it) {  // $OTHER_SECRET before $OTHER
      const auto& [k, v] = *it;
      req = replace_all(req, k, v);
      res = replace_all(res, k, v);
    }
    std::istringstream rs(req);
    std::string method, target, header, secret, body, l;
    rs >> method >> target;
    std::getline(rs, l);
    while (std::getline(rs, l) && !l.empty())
      if (l.rfind("Authorization: Bearer ", 0) == 0) secret = l.substr(22);
    while (std::getline(rs, l)) body += l + "\n";
    const size_t nl = res.find('\n');
    const unsigned status = static_cast<unsigned>(std::stoul(res.substr(0, nl)));
    const json expected = json::parse(res.substr(nl + 1));
    const Answer a =
        c.request(http::string_to_verb(method), target,
                  body.find_first_not_of(" \n") == std::string::npos ? "" : body, secret);
    INFO(method << " " << target << "\n" << body << "-> " << a.status << " " << a.body.dump());
    CHECK(a.status == status);
    std::string why;
    CHECK(matches(expected, a.body, why, "body"));
    INFO(why);
    if (target == "/v1/sessions" && a.status == 201) {
      const bool first = !vars.count("$SESSION");
      vars[first ? "$SESSION" : "$OTHER"] = a.body.at("session").get<std::string>();
      vars[first ? "$SECRET" : "$OTHER_SECRET"] = a.body.at("secret").get<std::string>();
    }
  }
}

TEST_CASE("under the aws-2024 model a write takes cloud time, counted from its arrival",
          "[server]") {
  // Regression: latencies were counted from the end of the server's last turn, so a request
  // arriving after a quiet spell was answered at once.
  ServerOptions o;
  o.latency_model = "aws-2024";
  TestServer srv(o);
  Client c(srv.port);
  const Session a = open_session(c);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a quiet spell
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(op(c, a, {{"op", "create"}, {"path", "/n" + std::to_string(i)}}).status == 200);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    // Far below any draw of the measured steps (the writer's and distributor's alone are more).
    CHECK(ms >= 40);
  }
}

TEST_CASE("a session cannot be used without its own secret", "[server]") {
  TestServer srv;
  Client c(srv.port);
  const Session a = open_session(c), b = open_session(c);
  CHECK(a.id != b.id);
  CHECK(a.id.size() >= 33);      // "s" and 128 bits in hex
  CHECK(a.secret.size() >= 64);  // 256 bits in hex
  REQUIRE(op(c, a, {{"op", "create"}, {"path", "/mine"}, {"flags", {"ephemeral"}}}).status == 200);
  const json del{{"op", "delete"}, {"path", "/mine"}};
  const std::string target = "/v1/sessions/" + a.id + "/ops";
  CHECK(c.request(http::verb::post, target, del.dump()).status == 401);
  CHECK(c.request(http::verb::post, target, del.dump(), b.secret).status == 403);
  CHECK(c.request(http::verb::post, target, del.dump(), a.secret + "0").status == 403);
  CHECK(c.request(http::verb::delete_, "/v1/sessions/" + a.id, "", b.secret).status == 403);
  // Nothing happened to a's node; the WebSocket is refused the same way.
  const Answer still = op(c, b, {{"op", "exists"}, {"path", "/mine"}});
  CHECK(still.body.at("stat").at("ephemeralOwner") == a.id);
  Session forged{a.id, b.secret};
  CHECK_THROWS(Ws(srv.port, forged));
}

TEST_CASE("bad requests get a 4xx JSON error naming the problem, and nothing is lost", "[server]") {
  ServerOptions o;
  o.max_requests_per_second = 20;
  TestServer srv(o);
  Client c(srv.port);
  const Session s = open_session(c);
  REQUIRE(op(c, s, {{"op", "create"}, {"path", "/keep"}, {"data", "v1"}}).status == 200);
  struct Bad {
    std::string body;
    unsigned status;
    std::string needle;
  };
  const std::vector<Bad> bad = {
      {"{\"op\": \"create\", \"path\": \"/x\"", 400, "not valid JSON"},
      {"[1, 2]", 400, "JSON object"},
      {R"({"op": "create", "path": "x"})", 200, "must start with /"},
      {R"({"op": "frobnicate", "path": "/x"})", 400, "unknown op"},
      {R"({"op": "get_data", "path": "/keep", "colour": "blue"})", 400, "unknown field"},
      {R"({"op": "set_data", "path": "/keep", "data": "v2", "version": "one"})", 400, "version"},
      {R"({"op": "create", "path": "/b", "data_b64": "@@@"})", 400, "base64"},
      {R"({"op": "create", "path": "/big", "data": ")" + std::string(1024 * 1024 + 1, 'x') + "\"}",
       413, "over the limit"},
  };
  for (const Bad& b : bad) {
    const Answer a = c.request(http::verb::post, "/v1/sessions/" + s.id + "/ops", b.body, s.secret);
    INFO(b.body.substr(0, 80) << " -> " << a.status << " " << a.body.dump().substr(0, 200));
    CHECK(a.status == b.status);
    CHECK(a.body.value("message", "").find(b.needle) != std::string::npos);
  }
  {
    Client big(srv.port);  // over the body limit: 413, and the connection is closed
    const Answer a = big.request(http::verb::post, "/v1/sessions/" + s.id + "/ops",
                                 std::string(2 * 1024 * 1024, ' '), s.secret);
    CHECK(a.status == 413);
  }
  CHECK(c.request(http::verb::get, "/nowhere").status == 404);
  CHECK(c.request(http::verb::delete_, "/health").status == 405);
  const Answer kept = op(c, s, {{"op", "get_data"}, {"path", "/keep"}});
  CHECK(kept.body.value("data", "") == "v1");
  CHECK(kept.body.at("stat").value("version", -1) == 0);
  // Over the rate limit on one connection: 429.
  Client fast(srv.port);
  int refused = 0;
  for (int i = 0; i < 60; ++i) refused += fast.request(http::verb::get, "/health").status == 429;
  CHECK(refused > 0);
}

TEST_CASE("watch events arrive over the WebSocket in zxid order, before the answers they explain",
          "[server]") {
  TestServer srv;
  Client c(srv.port);
  const Session watcher = open_session(c), writer = open_session(c);
  Ws ws(srv.port, watcher);
  for (int i = 0; i < 5; ++i)
    REQUIRE(op(c, writer, {{"op", "create"}, {"path", "/n" + std::to_string(i)}, {"data", ""}})
                .status == 200);
  for (int i = 0; i < 5; ++i) {
    ws.send({{"req", i}, {"op", "get_data"}, {"path", "/n" + std::to_string(i)}, {"watch", true}});
    CHECK(ws.result(i).value("kind", "") == "ok");
  }
  for (int i = 4; i >= 0; --i)
    REQUIRE(op(c, writer, {{"op", "set_data"}, {"path", "/n" + std::to_string(i)}, {"data", "x"}})
                .status == 200);
  // A read of the last node written: its event must come first.
  ws.send({{"req", 99}, {"op", "get_data"}, {"path", "/n0"}});
  const json r = ws.result(99);
  CHECK(r.value("data", "") == "x");
  REQUIRE(ws.events.size() == 5);
  int64_t last = 0;
  for (const json& e : ws.events) {
    CHECK(e.value("type", "") == "watch");
    CHECK(e.value("event", "") == "NodeDataChanged");
    CHECK(e.value("zxid", int64_t{0}) > last);
    last = e.value("zxid", int64_t{0});
  }
  CHECK(ws.events.back().value("path", "") == "/n0");
}

TEST_CASE("a session whose client goes quiet expires and its ephemerals go", "[server]") {
  ServerOptions o;
  o.config.session_timeout = 600 * kMillisecond;
  o.config.heartbeat_period = 100 * kMillisecond;
  TestServer srv(o);
  Client c(srv.port);
  const Session quiet = open_session(c), other = open_session(c);
  REQUIRE(op(c, quiet, {{"op", "create"}, {"path", "/e"}, {"flags", {"ephemeral"}}}).status == 200);
  Ws other_ws(srv.port, other);  // an open WebSocket keeps `other` alive without requests
  other_ws.send({{"req", 1}, {"op", "exists"}, {"path", "/e"}, {"watch", true}});
  REQUIRE(other_ws.result(1).at("stat").is_object());
  const json deleted = other_ws.receive();  // within a timeout and a heartbeat or two
  CHECK(deleted.value("event", "") == "NodeDeleted");
  CHECK(op(c, quiet, {{"op", "get_data"}, {"path", "/"}}).body.value("error", "") ==
        "SessionExpired");
  CHECK(op(c, other, {{"op", "exists"}, {"path", "/e"}}).body.at("stat").is_null());
}

TEST_CASE("one write notifies 500 watchers over their WebSockets, none lost", "[server][load]") {
  TestServer srv;
  Client c(srv.port);
  const Session writer = open_session(c);
  REQUIRE(op(c, writer, {{"op", "create"}, {"path", "/hot"}, {"data", "0"}}).status == 200);
  constexpr int kWatchers = 500;
  std::vector<std::unique_ptr<Ws>> sockets;
  for (int i = 0; i < kWatchers; ++i) {
    const Session s = open_session(c);
    sockets.push_back(std::make_unique<Ws>(srv.port, s));
    sockets.back()->send({{"req", 1}, {"op", "get_data"}, {"path", "/hot"}, {"watch", true}});
  }
  for (auto& ws : sockets) REQUIRE(ws->result(1).value("kind", "") == "ok");
  const Answer set = op(c, writer, {{"op", "set_data"}, {"path", "/hot"}, {"data", "1"}});
  REQUIRE(set.status == 200);
  const int64_t zxid = set.body.value("zxid", int64_t{0});
  int notified = 0;
  for (auto& ws : sockets) {
    const json e = ws->receive();
    notified += e.value("event", "") == "NodeDataChanged" && e.value("zxid", int64_t{-1}) == zxid;
  }
  CHECK(notified == kWatchers);
  const Answer counters = c.request(http::verb::get, "/admin/counters");
  CHECK(counters.body.value("watches_delivered", 0) >= kWatchers);
}

// Found by fuzz_http: a 404 for a path that is not UTF-8 quoted the path in its message, and
// writing that JSON threw inside the server's I/O loop, which ended the process.
TEST_CASE("a request whose path is not UTF-8 gets a JSON 404 and the server lives on", "[server]") {
  Server raw(ServerOptions{});
  const std::string answer =
      raw.handle_raw(std::string("GET /h\xff\xfe HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  CHECK(answer.rfind("404 ", 0) == 0);
  CHECK_FALSE(json::parse(answer.substr(4), nullptr, false).is_discarded());
  TestServer srv;
  Client c(srv.port);
  CHECK(c.request(http::verb::get, std::string("/h\xff")).status == 404);
  CHECK(c.request(http::verb::get, "/health").status == 200);
}
