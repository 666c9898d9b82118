// fkemu serve --data FILE killed with SIGKILL under write load, again and again: after each
// restart every acknowledged write is there, the requests queued before the kill are
// processed, and the stores agree (G7, GET /admin/check).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>  // not <boost/asio.hpp>: in 1.74 it misses an include
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/server/child_server.h"
#include "tests/support/http_client.h"

namespace {

using fkemu::ChildServer;
using fkemu::start_child_server;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

ChildServer start_server(const std::string& data) {
  ChildServer c =
      start_child_server({"--data", data, "--session-timeout-ms", "1000", "--heartbeat-ms", "200"});
  fclose(c.log);  // later log lines go nowhere (the server ignores SIGPIPE)
  c.log = nullptr;
  return c;
}

void kill_server(ChildServer& c) { (void)c.stop(SIGKILL); }

// One request on a new connection; status 0 if the server is gone.
std::pair<unsigned, json> call(uint16_t port, http::verb verb, const std::string& target,
                               const std::string& body = {}, const std::string& secret = {}) {
  fkemu::testing::HttpAnswer a =
      fkemu::testing::http_once(port, verb, target, body, fkemu::testing::bearer(secret));
  return {a.status, std::move(a.body)};
}

}  // namespace

TEST_CASE("kill -9 under write load loses no acknowledged write, and the stores agree after",
          "[server][durability]") {
  const std::string dir = std::string(FKEMU_BINARY_DIR) + "/durability-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data = dir + "/state.db";
  std::mt19937 rng(20261202);
  std::map<std::string, std::string> acked;  // path -> data, every acknowledged write
  std::mutex mu;
  constexpr int kRounds = 5, kWriters = 3;
  for (int round = 0; round < kRounds; ++round) {
    ChildServer srv = start_server(data);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w)
      writers.emplace_back([&, w] {
        auto [st, sess] = call(srv.port, http::verb::post, "/v1/sessions");
        if (st != 201) return;
        const std::string id = sess["session"], secret = sess["secret"];
        for (int i = 0; !stop && i < 100000; ++i) {
          const std::string path =
              "/r" + std::to_string(round) + "-w" + std::to_string(w) + "-" + std::to_string(i);
          const std::string value = "v" + std::to_string(i);
          auto [code, ans] =
              call(srv.port, http::verb::post, "/v1/sessions/" + id + "/ops",
                   json{{"op", "create"}, {"path", path}, {"data", value}}.dump(), secret);
          if (code == 0) return;  // killed
          if (code == 200 && ans.value("kind", "") == "ok") {
            std::lock_guard<std::mutex> g(mu);
            acked[path] = value;
          }
        }
      });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 600)(rng)));
    kill_server(srv);  // at whatever moment the writers happen to be in
    stop = true;
    for (auto& t : writers) t.join();
  }
  REQUIRE(acked.size() > 20);  // the load really wrote

  ChildServer srv = start_server(data);
  auto [st, sess] = call(srv.port, http::verb::post, "/v1/sessions");
  REQUIRE(st == 201);
  const std::string id = sess["session"], secret = sess["secret"];
  size_t missing = 0;
  std::string first_missing;
  for (const auto& [path, value] : acked) {
    auto [code, ans] = call(srv.port, http::verb::post, "/v1/sessions/" + id + "/ops",
                            json{{"op", "get_data"}, {"path", path}}.dump(), secret);
    if (code != 200 || ans.value("data", "") != value) {
      if (!missing++) first_missing = path + ": " + ans.dump();
    }
  }
  INFO(missing << " of " << acked.size() << " acknowledged writes lost; first " << first_missing);
  CHECK(missing == 0);
  // The stores agree once the queued requests are processed and the old sessions expired.
  json check;
  for (int i = 0; i < 150; ++i) {
    check = call(srv.port, http::verb::get, "/admin/check").second;
    if (check.value("quiescent", false)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(check.dump());
  CHECK(check.value("quiescent", false));
  kill_server(srv);
  std::filesystem::remove_all(dir);
}

TEST_CASE("concurrent writers share transactions, and kill -9 loses none of their writes",
          "[server][durability]") {
  const std::string dir = std::string(FKEMU_BINARY_DIR) + "/group-commit-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data = dir + "/state.db";
  ChildServer srv = start_server(data);
  auto transactions = [&] {
    const json c = call(srv.port, http::verb::get, "/admin/counters").second;
    return c.at("state_file").at("transactions").get<uint64_t>();
  };
  constexpr int kWriters = 16, kWrites = 20;
  std::vector<std::pair<std::string, std::string>> sessions;
  for (int w = 0; w < kWriters; ++w) {
    auto [st, sess] = call(srv.port, http::verb::post, "/v1/sessions");
    REQUIRE(st == 201);
    sessions.emplace_back(sess["session"], sess["secret"]);
  }
  const uint64_t before = transactions();
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      // One connection per writer, each request waiting for its answer.
      fkemu::testing::HttpConnection c(srv.port);
      const auto& [id, secret] = sessions[static_cast<size_t>(w)];
      for (int i = 0; i < kWrites; ++i) {
        const fkemu::testing::HttpAnswer a = c.request(
            http::verb::post, "/v1/sessions/" + id + "/ops",
            json{{"op", "create"}, {"path", "/g" + std::to_string(w) + "-" + std::to_string(i)}}
                .dump(),
            fkemu::testing::bearer(secret));
        if (a.status == 200 && a.body.value("kind", "") == "ok") ++acked;
      }
    });
  for (auto& t : writers) t.join();
  const uint64_t used = transactions() - before;
  REQUIRE(acked == kWriters * kWrites);
  INFO(used << " transactions for " << acked << " writes");
  // Every write changes the state file; one transaction per write would be 320. (How many
  // share one depends on how long an fsync takes: about 40 here on a disk; a disk that syncs at
  // once groups fewer.)
  CHECK(used > 0);
  CHECK(used < static_cast<uint64_t>(acked));

  kill_server(srv);
  ChildServer again = start_server(data);
  auto [st, sess] = call(again.port, http::verb::post, "/v1/sessions");
  REQUIRE(st == 201);
  int found = 0;
  for (int w = 0; w < kWriters; ++w)
    for (int i = 0; i < kWrites; ++i) {
      auto [code, ans] =
          call(again.port, http::verb::post,
               "/v1/sessions/" + sess["session"].get<std::string>() + "/ops",
               json{{"op", "exists"}, {"path", "/g" + std::to_string(w) + "-" + std::to_string(i)}}
                   .dump(),
               sess["secret"]);
      if (code == 200 && ans.value("kind", "") == "ok" && ans["stat"].is_object()) ++found;
    }
  CHECK(found == kWriters * kWrites);
  kill_server(again);
  std::filesystem::remove_all(dir);
}
