// The aws-2024 latency model: its price table, the FIFO trigger measured from the start of the
// send, memory and size keying, and the refusal of bad options (the predictions built on it:
// tests/apps/predict_test.cc).
#include "emulator/aws_latency.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "emulator/function_runtime.h"
#include "emulator/memory_fifo_queue.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

// Fixed delays by step name; everything else 0.
class FixedLatency final : public LatencyModel {
 public:
  std::map<std::string, Duration, std::less<>> delays;
  Duration delay(std::string_view step, size_t, Rng&) override {
    auto it = delays.find(step);
    return it == delays.end() ? 0 : it->second;
  }
};

// When the function's handler starts, for a send that takes `send` and a trigger of `trigger`.
Time handler_start(Duration send, Duration trigger) {
  Executor ex(1);
  auto model = std::make_shared<FixedLatency>();
  model->delays["test.send"] = send;
  model->delays["fn.trigger"] = trigger;
  ex.set_latency_model(model);
  MemoryFifoQueue queue("q", ex);
  Time started = -1;
  EventSourceMapping esm(
      ex, queue, "fn",
      [&](ReceivedMessage) -> Task<void> {
        started = ex.now();
        co_return;
      },
      10, 30 * kSecond, "fn.trigger");
  esm.start();
  auto sender = [&]() -> Task<void> {
    co_await ex.sleep(5 * kMillisecond);  // the send begins at 5 ms
    (void)co_await ex.call("queue.send", "test.send", 0, [&] {
      return queue.send("g", "d", Value(ValueMap{{"n", 1}}), SendMeta{ex.call_began(), 0});
    });
  };
  ex.spawn("sender", sender());
  ex.run();
  return started;
}

}  // namespace

TEST_CASE("every price names a component of the embedded table, sorted and unique", "[latency]") {
  const auto& prices = AwsLatency::prices();
  REQUIRE(prices.size() > 30);
  for (size_t i = 0; i < prices.size(); ++i) {
    INFO(prices[i].step);
    if (i > 0) CHECK(prices[i - 1].step < prices[i].step);
    if (!prices[i].component.empty()) CHECK(CalibrationTable::aws_2024().has(prices[i].component));
    CHECK(!prices[i].why.empty());
  }
  for (int m : {512, 1024, 2048}) {
    AwsLatencyOptions o;
    o.memory_mb = m;
    o.extra_steps = true;
    CHECK(AwsLatency::make(CalibrationTable::aws_2024(), o).is_ok());
  }
}

TEST_CASE("a FIFO trigger is timed from the start of the send, never before it returns",
          "[latency]") {
  // The trigger (30 ms) is longer than the send (10 ms): the function starts 30 ms after the
  // send began at 5 ms, not 30 ms after the send returned.
  CHECK(handler_start(10 * kMillisecond, 30 * kMillisecond) == 35 * kMillisecond);
  // The send (40 ms) is longer than the trigger: the message is there only when it returns.
  CHECK(handler_start(40 * kMillisecond, 30 * kMillisecond) == 45 * kMillisecond);
  // The zero model: at once.
  CHECK(handler_start(0, 0) == 5 * kMillisecond);
}

TEST_CASE("unknown steps cost nothing and are remembered; known ones are drawn", "[latency]") {
  auto m = AwsLatency::make(CalibrationTable::aws_2024());
  REQUIRE(m.is_ok());
  Rng rng(3);
  CHECK((*m)->delay("no.such_step", 4, rng) == 0);
  CHECK((*m)->unknown_steps().count("no.such_step") == 1);
  CHECK((*m)->delay("esm.poll", 4, rng) == 0);  // free by the table
  const Duration lock = (*m)->delay("writer.lock", 4, rng);
  CHECK(lock > kMillisecond);
  CHECK(lock < 2 * kSecond);
  CHECK((*m)->unknown_steps().size() == 1);
  // extra steps: free by default, priced on request
  CHECK((*m)->delay("distributor.epoch_scan", 4, rng) == 0);
  AwsLatencyOptions o;
  o.extra_steps = true;
  auto e = AwsLatency::make(CalibrationTable::aws_2024(), o);
  REQUIRE(e.is_ok());
  CHECK((*e)->delay("distributor.epoch_scan", 4, rng) > 0);
}

TEST_CASE("bad latency options are refused with the reason", "[latency]") {
  AwsLatencyOptions o;
  o.memory_mb = 3008;
  auto m = AwsLatency::make(CalibrationTable::aws_2024(), o);
  REQUIRE(!m.is_ok());
  CHECK(m.status().message() ==
        "function memory 3008 MB was not measured (measured: 512, 1024, 2048 MB)");
  auto n = make_latency_model("aws-2030");
  REQUIRE(!n.is_ok());
  CHECK(n.status().message() == "unknown latency model \"aws-2030\" (known: zero, aws-2024)");
  REQUIRE(make_latency_model("zero").is_ok());

  // A table without a component the model needs.
  json t = json::parse(R"({"study": "t", "unit": "ms", "quantiles": 101, "components": {}})");
  json q = json::array();
  for (int k = 0; k < 101; ++k) q.push_back(k);
  t["components"]["writer.lock"] =
      json::array({{{"size", 4}, {"memory", 2048}, {"samples", 1}, {"q", q}}});
  auto table = CalibrationTable::parse(t);
  REQUIRE(table.is_ok());
  auto k = AwsLatency::make(*table);
  REQUIRE(!k.is_ok());
  const std::string msg = k.status().message();
  CHECK(msg.rfind("the calibration table has no measurements of ", 0) == 0);
  CHECK(msg.find("queue.sqs_fifo_trigger") != std::string::npos);
  CHECK(msg.find("writer.lock") == std::string::npos);  // that one is there
}
