// The event-source mapping: batches, at-least-once delivery, redelivery after the visibility
// timeout when an instance dies, per-group order, parallel groups.
#include "emulator/function_runtime.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "emulator/memory_fifo_queue.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

struct Rig {
  Executor ex{1, std::make_unique<RandomScheduler>()};
  MemoryFifoQueue queue{"q", ex};
  std::vector<std::pair<std::string, int>> handled;  // (group, n) in handling order
  std::vector<size_t> batch_sizes;
  EventSourceMapping esm{ex,
                         queue,
                         "fn",
                         [this](ReceivedMessage m) -> Task<void> {
                           co_await ex.call("work", 0, [] {});
                           handled.emplace_back(m.group,
                                                static_cast<int>(m.body->at("n").as_number()));
                         },
                         3,
                         30 * kSecond};
  Rig() { esm.start(); }
  void send(const std::string& group, int n) {
    REQUIRE(queue.send(group, group + std::to_string(n), Value(ValueMap{{"n", n}})).is_ok());
  }
};

}  // namespace

TEST_CASE("messages are handled in batches, each exactly once without faults", "[esm]") {
  Rig r;
  for (int i = 0; i < 7; ++i) r.send("g", i);
  r.ex.run();
  REQUIRE(r.handled.size() == 7);
  for (int i = 0; i < 7; ++i) CHECK(r.handled[i] == std::make_pair(std::string("g"), i));
  CHECK(r.esm.invocations() == 3);  // batches of 3, 3, 1
  CHECK(r.queue.visible_count() + r.queue.in_flight_count() == 0);
}

TEST_CASE("a killed instance's batch is delivered again after the visibility timeout", "[esm]") {
  Rig r;
  r.send("g", 1);
  r.send("g", 2);
  bool killed = false;
  r.ex.set_resume_hook([&](const ReadyEntry& e) {
    if (!killed && e.label == "work" && r.ex.process_name(e.pid) == "fn#1") return killed = true;
    return false;
  });
  r.ex.run();
  CHECK(killed);
  REQUIRE(r.handled.size() == 2);
  CHECK(r.handled[0].second == 1);
  CHECK(r.handled[1].second == 2);
  CHECK(r.esm.invocations() == 2);
  CHECK(r.ex.now() >= 30 * kSecond);  // redelivery waited for the visibility timeout
  CHECK(r.queue.visible_count() + r.queue.in_flight_count() == 0);
}

TEST_CASE("a crash after handling gives at-least-once: the batch is handled again", "[esm]") {
  Rig r;
  r.send("g", 1);
  bool killed = false;
  r.ex.set_resume_hook([&](const ReadyEntry& e) {
    if (!killed && e.label == "queue.delete") return killed = true;
    return false;
  });
  r.ex.run();
  CHECK(killed);
  CHECK(r.handled.size() == 2);  // the function's own idempotence must cope with this
}

TEST_CASE("per-group order holds while groups run in parallel", "[esm]") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rig r;
    r.ex.rng().reseed(seed);
    for (int i = 0; i < 10; ++i) {
      r.send("a", i);
      r.send("b", i);
    }
    r.ex.run();
    std::map<std::string, int> next;
    bool interleaved = false;
    std::string last_group;
    for (const auto& [g, n] : r.handled) {
      CHECK(n == next[g]++);
      interleaved = interleaved || (!last_group.empty() && g != last_group);
      last_group = g;
    }
    CHECK(next["a"] == 10);
    CHECK(next["b"] == 10);
    CHECK(interleaved);
  }
}

TEST_CASE("the poller does not keep an idle run alive", "[esm]") {
  Rig r;
  r.ex.run();
  CHECK(r.ex.now() == 0);
  r.send("g", 5);
  r.ex.run();
  CHECK(r.handled.size() == 1);
}
