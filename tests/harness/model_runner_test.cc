// The sequential ZooKeeper model run on its own (harness/model_runner.h): it gives the history
// fkemu gives on every bundled comparable scenario and on generated ones. (Against the real
// ZooKeeper: zookeeper_differential_test.cc.)
#include "harness/model_runner.h"

#include <catch2/catch.hpp>

#include "harness/history_diff.h"
#include "harness/scenario_runner.h"
#include "harness/workload_generator.h"

using namespace fkemu;

namespace {

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "\n  " + i;
  return out;
}

}  // namespace

TEST_CASE("the model answers the bundled sequential scenarios as fkemu does", "[model]") {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  size_t compared = 0;
  for (const auto& f : *files) {
    auto sc = load_scenario(f);
    REQUIRE(sc.is_ok());
    auto model = run_scenario_on_model(*sc);
    if (!model.is_ok()) continue;  // concurrent, or an expire step
    ++compared;
    const auto diffs = zkref::diff_histories(*model, run_scenario(*sc).history);
    INFO(sc->name << lines(diffs));
    CHECK(diffs.empty());
  }
  CHECK(compared >= 15);
}

TEST_CASE("the model answers generated comparable scenarios as fkemu does", "[model][generator]") {
  GeneratorOptions o;
  o.comparable = true;
  for (uint64_t i = 0; i < 150; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(77, i), o);
    auto model = run_scenario_on_model(sc);
    INFO(model.status().to_string());
    REQUIRE(model.is_ok());
    const auto diffs = zkref::diff_histories(*model, run_scenario(sc).history);
    INFO(sc.name << lines(diffs));
    CHECK(diffs.empty());
  }
}

TEST_CASE("the model refuses what has no sequential meaning", "[model]") {
  auto concurrent = parse_scenario(nlohmann::json::parse(
      R"({"sessions":["a"],"mode":"concurrent","steps":[{"session":"a","op":"close"}]})"));
  REQUIRE(concurrent.is_ok());
  const Status why = run_scenario_on_model(*concurrent).status();
  CHECK(why.code() == Code::BadArguments);
  CHECK_THAT(why.message(), Catch::Contains("sequential"));
  auto expiring = parse_scenario(
      nlohmann::json::parse(R"({"sessions":["a"],"steps":[{"session":"a","op":"expire"}]})"));
  REQUIRE(expiring.is_ok());
  const Status expire_why = run_scenario_on_model(*expiring).status();
  CHECK(expire_why.code() == Code::BadArguments);
  CHECK_THAT(expire_why.message(), Catch::Contains("expire"));
}

TEST_CASE("the model's history: canonical order, errors of a closed session", "[model]") {
  auto sc = parse_scenario(nlohmann::json::parse(R"({
    "sessions": ["a", "b"],
    "steps": [
      {"session": "a", "op": "create", "path": "/n", "data": "x"},
      {"session": "b", "op": "exists", "path": "/n", "watch": true},
      {"session": "a", "op": "get_data", "path": "/n", "watch": true},
      {"session": "a", "op": "set_data", "path": "/n", "data": "y"},
      {"session": "a", "op": "close"},
      {"session": "a", "op": "get_data", "path": "/n"},
      {"session": "a", "op": "get_data", "path": "bad"},
      {"session": "a", "op": "close"}
    ]})"));
  REQUIRE(sc.is_ok());
  auto h = run_scenario_on_model(*sc);
  REQUIRE(h.is_ok());
  std::vector<std::string> kinds;
  for (const auto& l : *h)
    kinds.push_back(l.at("kind").get<std::string>() + ":" + l.value("session", "") +
                    (l.contains("event") ? ":" + l["event"].get<std::string>() : "") +
                    (l.contains("error") ? ":" + l["error"].get<std::string>() : ""));
  // set_data: the acting session's event before its answer, then the other session's.
  const std::vector<std::string> want = {"invoke:a", "ok:a",
                                         "invoke:b", "ok:b",
                                         "invoke:a", "ok:a",
                                         "invoke:a", "watch:a:NodeDataChanged",
                                         "ok:a",     "watch:b:NodeDataChanged",
                                         "invoke:a", "ok:a",
                                         "invoke:a", "error:a:SessionExpired",
                                         "invoke:a", "error:a:BadArguments",
                                         "invoke:a", "ok:a"};
  CHECK(kinds == want);
}
