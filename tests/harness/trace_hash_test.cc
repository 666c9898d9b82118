// Behaviour kept through refactoring: every bundled scenario, run with its default schedule,
// gives the history and the trace hash recorded in tests/harness/data/trace-hashes.json. A change
// that means to alter behaviour records the new values on purpose:
//   FKEMU_RECORD_TRACE_HASHES=tests/harness/data/trace-hashes.json harness_tests "[trace-hash]"
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

}  // namespace

TEST_CASE("every bundled scenario keeps its recorded history and trace hash", "[trace-hash]") {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  REQUIRE(files->size() >= 30);
  nlohmann::json now = nlohmann::json::object();
  for (const std::string& file : *files) {
    auto sc = load_scenario(file);
    REQUIRE(sc.is_ok());
    const RunOutcome out = run_scenario(*sc, RunOptions{});
    now[std::filesystem::path(file).filename().string()] = {
        {"trace_hash", hex(out.trace_hash)},
        {"history_hash", hex(fnv1a(history_to_jsonl(out.history)))},
        {"history_lines", out.history.size()}};
  }
  if (const char* record = std::getenv("FKEMU_RECORD_TRACE_HASHES")) {
    std::ofstream(record) << now.dump(1) << "\n";
    WARN("recorded the trace hashes of " << now.size() << " scenarios in " << record);
    return;
  }
  std::ifstream in(std::string(FKEMU_SOURCE_DIR) + "/tests/harness/data/trace-hashes.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json recorded = nlohmann::json::parse(text.str());
  for (const auto& [name, expected] : recorded.items()) {
    INFO(name);
    REQUIRE(now.contains(name));
    CHECK(now[name] == expected);
  }
  CHECK(now.size() == recorded.size());  // a new scenario is recorded with the change adding it
}
