// Behaviour kept through refactoring: every bundled scenario, run with its default schedule,
// gives the history and the trace hash recorded in tests/harness/data/trace-hashes.json; and
// explored with every fault site on (random and PCT schedules, a few seeds each), the trace
// hashes and fault counts recorded in tests/harness/data/trace-hashes-faults.json, which pin the
// protocol's retry, redelivery and lost-lock paths too. A change that means to alter behaviour
// records the new values on purpose:
//   FKEMU_RECORD_TRACE_HASHES=tests/harness/data harness_tests "[trace-hash]"
// and says why in its commit.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "harness/explorer.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"

using namespace fkemu;

namespace {

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// FNV-1a of the history's JSON lines.
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Compares `now` with the recorded file `name` in tests/harness/data, or records it there.
void compare_or_record(const nlohmann::json& now, const std::string& name) {
  if (const char* dir = std::getenv("FKEMU_RECORD_TRACE_HASHES")) {
    const std::string to = std::string(dir) + "/" + name;
    std::ofstream(to) << now.dump(1) << "\n";
    WARN("recorded the trace hashes of " << now.size() << " scenarios in " << to);
    return;
  }
  std::ifstream in(std::string(FKEMU_SOURCE_DIR) + "/tests/harness/data/" + name);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json recorded = nlohmann::json::parse(text.str());
  for (const auto& [scenario, expected] : recorded.items()) {
    INFO(scenario);
    REQUIRE(now.contains(scenario));
    CHECK(now[scenario] == expected);
  }
  CHECK(now.size() == recorded.size());  // a new scenario is recorded with the change adding it
}

std::vector<std::string> bundled_scenarios() {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  REQUIRE(files->size() >= 30);
  return *files;
}

}  // namespace

TEST_CASE("every bundled scenario keeps its recorded history and trace hash", "[trace-hash]") {
  nlohmann::json now = nlohmann::json::object();
  for (const std::string& file : bundled_scenarios()) {
    auto sc = load_scenario(file);
    REQUIRE(sc.is_ok());
    const RunOutcome out = run_scenario(*sc, RunOptions{});
    now[std::filesystem::path(file).filename().string()] = {
        {"trace_hash", hex(out.trace_hash)},
        {"history_hash", hex(fnv1a(history_to_jsonl(out.history)))},
        {"history_lines", out.history.size()}};
  }
  compare_or_record(now, "trace-hashes.json");
}

TEST_CASE("every bundled scenario explored with faults keeps its recorded traces", "[trace-hash]") {
  nlohmann::json now = nlohmann::json::object();
  for (const std::string& file : bundled_scenarios()) {
    auto sc = load_scenario(file);
    REQUIRE(sc.is_ok());
    nlohmann::json runs = nlohmann::json::array();
    for (const char* strategy : {"random", "pct"}) {
      ExploreConfig cfg;
      cfg.strategy = strategy;
      cfg.faults = true;
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        const ScheduleRun run = run_schedule(*sc, cfg, schedule_seed(seed, 0));
        runs.push_back({{"strategy", strategy},
                        {"seed", seed},
                        {"trace_hash", hex(run.trace_hash)},
                        {"faults", run.faults.size()},
                        {"history_hash", hex(fnv1a(history_to_jsonl(run.outcome.history)))}});
      }
    }
    now[std::filesystem::path(file).filename().string()] = std::move(runs);
  }
  compare_or_record(now, "trace-hashes-faults.json");
}
