// fkemu_soak: minutes of mixed load against one `fkemu serve` (a child process), the way a long
// day of development and a careless or hostile client would load it: sessions opened and closed
// (and some abandoned, to expire), ephemeral nodes, watches over WebSockets fired by a shared
// node, values of 256 KiB, and malformed requests of every kind (nested JSON, duplicate keys,
// broken JSON, bad paths, wrong secrets, secrets in URLs, admin requests without the token).
// It prints the server's RSS at the start and at the end (and its peak), the answers by kind,
// the sessions the server still holds and whether its stores agree once the load stops.
//
//   fkemu_soak [--seconds 300] [--clients 4] [--fkemu PATH]
//
// Exit status 0 if every answer was one the request should get, the server is alive at the
// end, holds no session the load did not leave open, and /admin/check is quiescent.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

// clang-format off
#include <utility>  // before Boost 1.74, whose asio/awaitable.hpp needs it
// clang-format on

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

uint16_t g_port = 0;
std::mutex g_mu;
std::map<std::string, uint64_t> g_kinds;  // "STATUS ERROR (what)" -> count
std::map<std::string, uint64_t> g_wrong;  // answers a request should not have got
std::atomic<uint64_t> g_requests{0};

void count(const std::string& kind, bool expected) {
  std::lock_guard<std::mutex> lock(g_mu);
  ++(expected ? g_kinds : g_wrong)[kind];
}

using Answer = fkemu::testing::HttpAnswer;

// One kept-alive connection, made anew when the server closes it; every answer is counted.
class Http {
 public:
  Http() { connect(); }
  Answer request(http::verb verb, const std::string& target, const std::string& body = {},
                 const std::string& token = {}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!connection_) connect();
        Answer a = connection_->request(verb, target, body, fkemu::testing::bearer(token));
        ++g_requests;
        if (!a.keep_alive) connection_.reset();
        return a;
      } catch (const std::exception&) {
        connection_.reset();  // the server closed it (over the body limit, say): a new one
      }
    }
    return {};
  }

 private:
  void connect() {
    try {
      connection_ = std::make_unique<fkemu::testing::HttpConnection>(g_port);
    } catch (const std::exception&) {
      connection_.reset();
    }
  }
  std::unique_ptr<fkemu::testing::HttpConnection> connection_;
};

std::string nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  return s + "1" + std::string(static_cast<size_t>(depth), '}');
}

// What an answer is, for the table: status, error and what was asked.
void expect(const Answer& a, unsigned status, const std::string& error, const std::string& what) {
  const std::string got =
      std::to_string(a.status) + " " +
      (a.body.is_object() ? a.body.value("error", a.body.value("kind", "")) : std::string("?"));
  count(got + " (" + what + ")",
        a.status == status && (error.empty() || got.find(error) != std::string::npos));
}

void client(int id, Clock::time_point end, std::string admin_token) {
  std::mt19937_64 rng(static_cast<uint64_t>(id) * 7919 + 1);
  Http h;
  const std::string big(256 * 1024, 'b');
  const std::string mine = "/soak/c" + std::to_string(id);
  expect(h.request(http::verb::post, "/v1/sessions"), 201, "", "open");
  for (uint64_t round = 0; Clock::now() < end; ++round) {
    const Answer opened = h.request(http::verb::post, "/v1/sessions");
    expect(opened, 201, "", "open");
    if (opened.status != 201) continue;
    const std::string sid = opened.body.at("session").get<std::string>();
    const std::string secret = opened.body.at("secret").get<std::string>();
    const std::string ops = "/v1/sessions/" + sid + "/ops";
    auto op = [&](const json& body) {
      return h.request(http::verb::post, ops, body.dump(), secret);
    };
    expect(op({{"op", "create"}, {"path", mine}}), 200, "",
           "create");  // NodeExists after the first
    expect(op({{"op", "create"}, {"path", mine + "/e-"}, {"flags", {"ephemeral", "sequential"}}}),
           200, "ok", "create ephemeral");
    // A watch over a WebSocket, fired by another client's write to the shared node.
    std::unique_ptr<websocket::stream<tcp::socket>> ws;
    net::io_context ioc;
    if (round % 2 == 0) {
      try {
        ws = std::make_unique<websocket::stream<tcp::socket>>(ioc);
        ws->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), g_port));
        ws->set_option(websocket::stream_base::decorator([&](websocket::request_type& r) {
          r.set(http::field::authorization, "Bearer " + secret);
        }));
        ws->handshake("127.0.0.1", "/v1/sessions/" + sid + "/events");
        ws->write(net::buffer(
            json{{"req", 1}, {"op", "exists"}, {"path", "/soak/shared"}, {"watch", true}}.dump()));
        beast::flat_buffer buf;
        ws->read(buf);
        count("ws result", true);
      } catch (const std::exception& e) {
        count(std::string("ws failed: ") + e.what(), false);
        ws.reset();
      }
    }
    expect(op({{"op", "set_data"}, {"path", "/soak/shared"}, {"data", std::to_string(round)}}), 200,
           "", "set shared");
    if (ws) {
      try {
        beast::flat_buffer buf;
        ws->read(buf);  // the event of some write to /soak/shared (ours at the latest)
        count("ws event", true);
      } catch (const std::exception& e) {
        count(std::string("ws event failed: ") + e.what(), false);
      }
    }
    if (round % 5 == 0) {
      expect(op({{"op", "set_data"}, {"path", mine}, {"data", big}}), 200, "ok", "set 256 KiB");
      const Answer got = op({{"op", "get_data"}, {"path", mine}});
      count(got.body.value("data", "") == big ? "get 256 KiB" : "get 256 KiB: wrong data",
            got.body.value("data", "") == big);
    }
    // Malformed and hostile requests: each must get its 4xx, nothing else.
    switch (rng() % 8) {
      case 0:
        expect(h.request(http::verb::post, ops, nested(20000), secret), 400, "BadRequest",
               "nested");
        break;
      case 1:
        expect(h.request(http::verb::post, ops, R"({"op":"get_data","op":"delete","path":"/soak"})",
                         secret),
               400, "BadRequest", "duplicate key");
        break;
      case 2:
        expect(h.request(http::verb::post, ops, R"({"op": "create", "path": )", secret), 400,
               "BadRequest", "broken JSON");
        break;
      case 3:
        expect(op({{"op", "exists"}, {"path", "/soak/\x7f"}}), 200, "BadArguments", "bad path");
        break;
      case 4:
        expect(h.request(http::verb::post, ops, R"({"op":"exists","path":"/"})", secret + "0"), 403,
               "Forbidden", "wrong secret");
        break;
      case 5:
        expect(
            h.request(http::verb::post, ops + "?secret=" + secret, R"({"op":"exists","path":"/"})"),
            400, "BadRequest", "secret in URL");
        break;
      case 6:
        expect(h.request(http::verb::post, "/admin/reset"), 401, "Unauthorized", "reset, no token");
        break;
      default:
        expect(h.request(http::verb::post, ops, std::string(2 * 1024 * 1024, ' '), secret), 413,
               "PayloadTooLarge", "body over the limit");
        break;
    }
    ws.reset();
    if (round % 10 == 9) continue;  // abandoned: the heartbeat expires it
    expect(h.request(http::verb::delete_, "/v1/sessions/" + sid, "", secret), 200, "ok", "close");
    expect(op({{"op", "exists"}, {"path", "/"}}), 200, "SessionExpired", "op after close");
  }
  (void)admin_token;
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 300;
  int clients = 4;
  std::string bin = std::string(FKEMU_BINARY_DIR) + "/apps/fkemu";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (a == "--clients")
      clients = std::atoi(argv[i + 1]);
    else if (a == "--fkemu")
      bin = argv[i + 1];
    else {
      std::cerr << "usage: fkemu_soak [--seconds 300] [--clients 4] [--fkemu PATH]\n";
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  int err[2];
  if (pipe(err) != 0) return 1;
  const std::string token = "soak-admin-token";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    execl(bin.c_str(), bin.c_str(), "serve", "--listen", "127.0.0.1:0", "--data",
          ":memory:", "--session-timeout-ms", "2000", "--heartbeat-ms", "500", "--admin-token",
          token.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err[1]);
  FILE* f = fdopen(err[0], "r");
  char line[512] = {0};
  if (!fgets(line, sizeof line, f) || !strstr(line, "127.0.0.1:")) {
    std::cerr << "fkemu serve did not start: " << line << "\n";
    return 1;
  }
  g_port = static_cast<uint16_t>(std::atoi(strstr(line, "127.0.0.1:") + 10));
  std::thread drain([f] {  // the server's log lines, so that its stderr never fills
    char buf[1024];
    while (fgets(buf, sizeof buf, f)) {
    }
  });
  {
    Http h;
    const Answer s = h.request(http::verb::post, "/v1/sessions");
    const std::string ops = "/v1/sessions/" + s.body.value("session", "") + "/ops";
    const std::string sec = s.body.value("secret", "");
    h.request(http::verb::post, ops, R"({"op":"create","path":"/soak"})", sec);
    h.request(http::verb::post, ops, R"({"op":"create","path":"/soak/shared"})", sec);
  }
  const long rss_start = rss_kb(pid);
  long rss_peak = rss_start;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) threads.emplace_back(client, i, end, token);
  std::vector<std::pair<double, long>> samples;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const long r = rss_kb(pid);
    rss_peak = std::max(rss_peak, r);
    const double t = std::chrono::duration<double>(Clock::now() - t0).count();
    if (samples.empty() || t - samples.back().first >= 30) samples.emplace_back(t, r);
  }
  for (auto& t : threads) t.join();
  // The abandoned sessions expire within a timeout and a few heartbeats; then the server holds
  // only the sessions still open (one per client and the setup's).
  std::this_thread::sleep_for(std::chrono::seconds(6));
  Http h;
  const Answer health = h.request(http::verb::get, "/health");
  const Answer counters = h.request(http::verb::get, "/admin/counters");
  const Answer check = h.request(http::verb::get, "/admin/check");
  const long rss_end = rss_kb(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  drain.join();

  json report{{"seconds", seconds},
              {"clients", clients},
              {"requests", g_requests.load()},
              {"rss_kb_start", rss_start},
              {"rss_kb_end", rss_end},
              {"rss_kb_peak", rss_peak},
              {"answers", g_kinds},
              {"wrong_answers", g_wrong},
              {"health", health.body},
              {"sessions_opened", counters.body.value("sessions_opened", 0)},
              {"sessions_kept", counters.body.value("sessions_kept", -1)},
              {"check", check.body}};
  json rss = json::array();
  for (const auto& [t, r] : samples) rss.push_back({{"t", static_cast<int>(t)}, {"rss_kb", r}});
  report["rss_samples"] = rss;
  std::cout << report.dump(1) << "\n";
  const bool ok = g_wrong.empty() && health.status == 200 &&
                  counters.body.value("sessions_kept", -1) <= clients + 1 &&
                  check.body.value("quiescent", false);
  return ok ? 0 : 1;
}
