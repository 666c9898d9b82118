// Every bundled scenario under the calibrated aws-2024 latency model: every step the protocol
// takes has a price, the scenario's expectations hold, the checker finds no violation, and the
// history's times are the predicted cloud latencies (virtual time).
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "emulator/aws_latency.h"
#include "harness/checker.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

using namespace fkemu;
using json = nlohmann::json;

TEST_CASE("every bundled scenario runs under aws-2024 with every step priced", "[latency]") {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  REQUIRE(files->size() > 10);
  for (const auto& f : *files) {
    auto sc = load_scenario(f);
    REQUIRE(sc.is_ok());
    for (int memory : {512, 2048}) {
      AwsLatencyOptions o;
      o.memory_mb = memory;
      o.user_store_kv = sc->config.user_store == "kv";
      o.extra_steps = memory == 512;
      auto model = AwsLatency::make(CalibrationTable::aws_2024(), o);
      REQUIRE(model.is_ok());
      RunOptions opt;
      opt.latency = *model;
      const RunOutcome out = run_scenario(*sc, opt);
      INFO(sc->name << " at " << memory << " MB");
      for (const auto& s : (*model)->unknown_steps()) INFO("unpriced step " << s);
      CHECK((*model)->unknown_steps().empty());
      for (const auto& p : out.problems) INFO(p);
      CHECK(out.problems.empty());
      for (const auto& e : out.expectation_failures) INFO(e);
      CHECK(out.expectation_failures.empty());
      CHECK(check_history(*sc, out.history).empty());
    }
  }
}

TEST_CASE("a scenario can ask for the aws-2024 model; its answers take cloud time", "[latency]") {
  json j = json::parse(R"({
    "name": "aws", "config": {"latency_model": "aws-2024", "function_memory_mb": 1024},
    "sessions": ["a"], "mode": "sequential",
    "steps": [{"session": "a", "op": "create", "path": "/x", "data": "1"},
              {"session": "a", "op": "get_data", "path": "/x", "expect": {"data": "1"}}]})");
  auto sc = parse_scenario(j);
  REQUIRE(sc.is_ok());
  CHECK(sc->config.function_memory_mb == 1024);
  const RunOutcome out = run_scenario(*sc);
  REQUIRE(out.ok());
  // invoke and answer times of the create: a cloud write takes tens of milliseconds at least
  int64_t invoke = -1, answer = -1;
  for (const auto& e : out.history) {
    if (e.value("id", 0) != 1) continue;
    if (e["kind"] == "invoke") invoke = e["t"].get<int64_t>();
    if (e["kind"] == "ok") answer = e["t"].get<int64_t>();
  }
  REQUIRE(invoke >= 0);
  REQUIRE(answer >= 0);
  CHECK(answer - invoke > 50 * kMillisecond);

  j["config"]["function_memory_mb"] = 3008;
  auto bad = parse_scenario(j);
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("function_memory_mb must be 512, 1024 or 2048") !=
        std::string::npos);
  j["config"]["function_memory_mb"] = 512;
  j["config"]["latency_model"] = "aws-2030";
  auto unknown = parse_scenario(j);
  REQUIRE(!unknown.is_ok());
  CHECK(unknown.status().message().find("known: zero, aws-2024") != std::string::npos);
}
