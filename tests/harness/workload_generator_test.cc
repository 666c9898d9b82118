// The workload generator: deterministic, always valid, drawing every operation and flag and the
// configurations, leaning towards the interesting cases; comparable scenarios stay comparable.
#include "harness/workload_generator.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/model/path.h"
#include "harness/scenario_runner.h"

using namespace fkemu;
using json = nlohmann::json;

TEST_CASE("the same seed gives the same scenario, another seed another", "[generator]") {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const json a = generate_scenario_json(seed);
    CHECK(a == generate_scenario_json(seed));
    CHECK(a != generate_scenario_json(seed + 1000));
  }
  // The i-th scenario of a batch is the one of its own seed: shards and reruns agree.
  const auto batch = generate_scenarios(7, 20);
  for (size_t i = 0; i < batch.size(); ++i)
    CHECK(batch[i].source == generate_scenario_json(generated_scenario_seed(7, i)));
  // Pinned: a change of the generator changes this (and every campaign's scenarios).
  CHECK(generate_scenario_json(1).dump().size() > 200);
}

TEST_CASE("generated scenarios load strictly, round-trip through files and run", "[generator]") {
  const std::string dir = std::string(FKEMU_BINARY_DIR) + "/generated-scenarios";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (uint64_t i = 0; i < 400; ++i) {
    for (bool comparable : {false, true}) {
      GeneratorOptions o;
      o.comparable = comparable;
      const Scenario sc = generate_scenario(generated_scenario_seed(3, i), o);  // throws if not
      REQUIRE(sc.steps.size() >= o.min_steps);
      const std::string file = dir + "/" + sc.name + ".json";
      std::ofstream(file) << sc.source.dump(1);
      auto back = load_scenario(file);
      REQUIRE(back.is_ok());
      CHECK(back->source == sc.source);
      CHECK(back->steps.size() == sc.steps.size());
    }
  }
  // A few of them run to the end: answered, quiescent.
  for (uint64_t i = 0; i < 12; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(4, i));
    const RunOutcome out = run_scenario(sc);
    INFO(sc.name << ": " << (out.problems.empty() ? "" : out.problems.front()));
    CHECK(out.problems.empty());
  }
}

TEST_CASE("every operation, flag, version kind and configuration is drawn", "[generator]") {
  std::map<std::string, int> seen;
  auto saw = [&](const std::string& what) { ++seen[what]; };
  int watch_then_change = 0, ephemeral_then_end = 0, sequential_then_delete = 0;
  for (uint64_t i = 0; i < 600; ++i) {
    const json sc = generate_scenario_json(generated_scenario_seed(11, i));
    saw("mode " + sc.at("mode").get<std::string>());
    saw("sessions " + std::to_string(sc.at("sessions").size()));
    const json config = sc.value("config", json::object());
    for (const auto& [k, v] : config.items()) saw("config " + k + "=" + v.dump());
    const json& steps = sc.at("steps");
    for (size_t s = 0; s < steps.size(); ++s) {
      const json& st = steps[s];
      if (st.contains("wait_ms")) {
        saw("wait_ms");
        continue;
      }
      const std::string op = st.at("op").get<std::string>();
      saw(op);
      if (st.contains("flags")) {
        std::set<std::string> f(st["flags"].begin(), st["flags"].end());
        saw(op + (f.count("ephemeral") ? " ephemeral" : "") +
            (f.count("sequential") ? " seq" : ""));
      } else if (op == "create") {
        saw("create persistent");
      }
      if (st.value("watch", false)) saw(op + " watch");
      if ((op == "get_data" || op == "exists" || op == "get_children") && !st.value("watch", false))
        saw(op + " no watch");
      if (op == "set_data" || op == "delete")
        saw(op + (st.contains("version") ? (st["version"] == -1 ? " version -1" : " version")
                                         : " no version"));
      if (st.contains("data_b64")) saw("data_b64");
      if (st.contains("path") && !validate_client_path(st["path"].get<std::string>()).is_ok())
        saw("invalid path");
      // The weighted motifs: a watch on a path that another session changes next; an
      // ephemeral whose session ends later; a sequential create followed by deletes under the
      // same parent.
      const std::string path = st.value("path", std::string());
      for (size_t t = s + 1; t < steps.size() && t < s + 4; ++t) {
        const json& later = steps[t];
        if (st.value("watch", false) && later.value("path", std::string()) == path &&
            later.value("session", std::string()) != st.value("session", std::string()) &&
            (later.value("op", "") == "create" || later.value("op", "") == "delete" ||
             later.value("op", "") == "set_data"))
          ++watch_then_change;
      }
      if (op == "create" && st.contains("flags") &&
          std::find(st["flags"].begin(), st["flags"].end(), "ephemeral") != st["flags"].end()) {
        for (size_t t = s + 1; t < steps.size(); ++t)
          if (steps[t].value("session", std::string()) == st["session"] &&
              (steps[t].value("op", "") == "expire" || steps[t].value("op", "") == "close")) {
            ++ephemeral_then_end;
            break;
          }
      }
      if (op == "create" && path.ends_with("/s-"))
        for (size_t t = s + 1; t < steps.size() && t < s + 3; ++t)
          if (steps[t].value("op", std::string()) == "delete" &&
              steps[t].value("path", std::string()).starts_with(path))
            ++sequential_then_delete;
    }
  }
  for (const char* what : {"mode sequential",
                           "mode concurrent",
                           "sessions 1",
                           "sessions 2",
                           "sessions 3",
                           "sessions 4",
                           "sessions 5",
                           "create persistent",
                           "create ephemeral",
                           "create seq",
                           "create ephemeral seq",
                           "get_data watch",
                           "get_data no watch",
                           "exists watch",
                           "exists no watch",
                           "get_children watch",
                           "get_children no watch",
                           "set_data version",
                           "set_data no version",
                           "set_data version -1",
                           "delete version",
                           "delete no version",
                           "close",
                           "expire",
                           "wait_ms",
                           "data_b64",
                           "invalid path",
                           "config user_store=\"kv\"",
                           "config user_store=\"object\"",
                           "config writer_groups=\"per_session\"",
                           "config writer_groups=\"single\"",
                           "config latency_model=\"aws-2024\"",
                           "config function_memory_mb=512",
                           "config session_timeout_ms=1000",
                           "config heartbeat_period_ms=100"}) {
    INFO(what);
    CHECK(seen[what] > 0);
  }
  CHECK(watch_then_change > 300);
  CHECK(ephemeral_then_end > 200);
  CHECK(sequential_then_delete > 100);
}

TEST_CASE("comparable scenarios are sequential and stay off the root", "[generator]") {
  GeneratorOptions o;
  o.comparable = true;
  for (uint64_t i = 0; i < 500; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(5, i), o);
    CHECK(sc.mode == ScenarioMode::Sequential);
    for (const Step& st : sc.steps) {
      INFO(sc.name << " step " << st.index);
      CHECK_FALSE(st.is_wait);
      CHECK(st.op != "expire");
      CHECK(st.path != "/");
      CHECK_FALSE(st.path.starts_with("/zookeeper"));
      CHECK(st.data.size() <= 1024 * 1024);
      if (st.sequential && validate_client_path(st.path, true).is_ok())
        CHECK(parent_path(st.path + "0") != "/");
    }
  }
}
