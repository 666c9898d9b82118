// Scenario files: strict loading with errors that name the file, the step and the problem;
// expectations; determinism of runs; watch-before-data under racing schedules.
#include "harness/scenario.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>

#include "harness/scenario_runner.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

std::string parse_error(const json& j) {
  auto r = parse_scenario(j, "t.json");
  REQUIRE_FALSE(r.is_ok());
  return r.status().message();
}

json minimal(json steps) { return json{{"sessions", {"a"}}, {"steps", std::move(steps)}}; }

Scenario bundled(const std::string& name) {
  auto sc = load_scenario(std::string(FKEMU_SOURCE_DIR) + "/scenarios/" + name);
  REQUIRE(sc.is_ok());
  return *sc;
}

}  // namespace

TEST_CASE("bad scenario files are refused with file, step and problem", "[scenario]") {
  CHECK_THAT(parse_error(json::array()), Catch::Contains("t.json") && Catch::Contains("object"));
  CHECK_THAT(parse_error(json{{"steps", json::array()}}),
             Catch::Contains("missing field \"sessions\""));
  CHECK_THAT(parse_error(minimal({{{"session", "a"}, {"op", "frobnicate"}, {"path", "/x"}}})),
             Catch::Contains("step 0") && Catch::Contains("unknown op \"frobnicate\""));
  CHECK_THAT(parse_error(minimal({{{"session", "a"}, {"op", "get_data"}}})),
             Catch::Contains("step 0") && Catch::Contains("missing field \"path\""));
  CHECK_THAT(parse_error(minimal({{{"session", "a"}, {"op", "get_data"}, {"path", 7}}})),
             Catch::Contains("\"path\"") && Catch::Contains("string"));
  CHECK_THAT(parse_error(minimal({json{{"wait_ms", 1}}, {{"session", "zz"}, {"op", "close"}}})),
             Catch::Contains("step 1") && Catch::Contains("\"zz\" is not declared"));
  CHECK_THAT(parse_error(minimal(
                 {{{"session", "a"}, {"op", "create"}, {"path", "/x"}, {"flags", {"durable"}}}})),
             Catch::Contains("unknown flag \"durable\""));
  CHECK_THAT(parse_error(minimal(
                 {{{"session", "a"}, {"op", "create"}, {"path", "/x"}, {"colour", "red"}}})),
             Catch::Contains("unknown field \"colour\""));
  CHECK_THAT(parse_error(
                 minimal({{{"session", "a"}, {"op", "get_data"}, {"path", "/x"}, {"version", 1}}})),
             Catch::Contains("unknown field \"version\""));
  CHECK_THAT(parse_error(
                 minimal({{{"session", "a"}, {"op", "delete"}, {"path", "/x"}, {"version", "1"}}})),
             Catch::Contains("\"version\"") && Catch::Contains("integer"));
  CHECK_THAT(parse_error(minimal(
                 {{{"session", "a"}, {"op", "create"}, {"path", "/x"}, {"data_b64", "%%%"}}})),
             Catch::Contains("not valid base64"));
  CHECK_THAT(
      parse_error(minimal(
          {{{"session", "a"}, {"op", "exists"}, {"path", "/x"}, {"expect", {{"error", "Oops"}}}}})),
      Catch::Contains("not a ZooKeeper error name"));
  CHECK_THAT(parse_error(json{{"sessions", {"a"}}, {"steps", json::array()}, {"mode", "parallel"}}),
             Catch::Contains("\"mode\""));
  CHECK_THAT(parse_error(json{{"sessions", {"a", "a"}}, {"steps", json::array()}}),
             Catch::Contains("declared twice"));
  CHECK_THAT(
      parse_error(json{
          {"sessions", {"a"}}, {"steps", json::array()}, {"config", {{"writer_groups", "many"}}}}),
      Catch::Contains("writer_groups"));
  CHECK_THAT(parse_error(json{
                 {"sessions", {"a"}}, {"steps", json::array()}, {"faults", {{"kill.writer", 2}}}}),
             Catch::Contains("probability"));
}

TEST_CASE("an unreadable or invalid JSON file is a clear error", "[scenario]") {
  auto missing = load_scenario("/nonexistent/fkemu/scenario.json");
  REQUIRE_FALSE(missing.is_ok());
  CHECK_THAT(missing.status().message(), Catch::Contains("cannot be read"));
  const std::string path = std::string(FKEMU_BINARY_DIR) + "/broken-scenario.json";
  std::ofstream(path) << "{\"sessions\": [\"a\"], \"steps\": [";
  auto broken = load_scenario(path);
  REQUIRE_FALSE(broken.is_ok());
  CHECK_THAT(broken.status().message(),
             Catch::Contains(path) && Catch::Contains("is not valid JSON: parse error"));
}

TEST_CASE("an invalid path is not a file error: the step runs and answers BadArguments",
          "[scenario]") {
  auto sc = parse_scenario(minimal({{{"session", "a"},
                                     {"op", "create"},
                                     {"path", "no-slash"},
                                     {"data", ""},
                                     {"expect", {{"error", "BadArguments"}}}}}));
  REQUIRE(sc.is_ok());
  auto out = run_scenario(*sc);
  CHECK(out.ok());
  REQUIRE(out.history.size() == 2);
  CHECK(out.history[1]["error"] == "BadArguments");
}

TEST_CASE("failed expectations are reported with the step", "[scenario]") {
  auto sc = parse_scenario(
      minimal({{{"session", "a"}, {"op", "create"}, {"path", "/x"}, {"data", "1"}},
               {{"session", "a"}, {"op", "get_data"}, {"path", "/x"}, {"expect", {{"data", "2"}}}},
               {{"session", "a"}, {"op", "delete"}, {"path", "/y"}, {"expect", {{"ok", true}}}}}));
  REQUIRE(sc.is_ok());
  auto out = run_scenario(*sc);
  REQUIRE(out.expectation_failures.size() == 2);
  CHECK_THAT(out.expectation_failures[0], Catch::Contains("step 1") && Catch::Contains("\"2\""));
  CHECK_THAT(out.expectation_failures[1], Catch::Contains("step 2") && Catch::Contains("NoNode"));
}

TEST_CASE("every bundled scenario passes with its default schedule", "[scenario]") {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  REQUIRE(files->size() >= 15);
  for (const auto& f : *files) {
    auto sc = load_scenario(f);
    REQUIRE(sc.is_ok());
    auto out = run_scenario(*sc);
    std::string report = f;
    for (const auto& e : out.expectation_failures) report += "\n  expectation: " + e;
    for (const auto& p : out.problems) report += "\n  problem: " + p;
    INFO(report);
    CHECK(out.ok());
  }
}

TEST_CASE("same seed, same trace hash and history; different seeds, different interleavings",
          "[scenario][determinism]") {
  for (const char* name :
       {"concurrent-writers.json", "lock-race.json", "watch-registration-race.json"}) {
    INFO(name);
    const Scenario sc = bundled(name);
    RunOptions o;
    o.seed = 11;
    auto a = run_scenario(sc, o);
    auto b = run_scenario(sc, o);
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(a.decisions == b.decisions);
    CHECK(history_to_jsonl(a.history) == history_to_jsonl(b.history));
    std::set<uint64_t> hashes;
    std::set<std::string> histories;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      o.seed = seed;
      auto r = run_scenario(sc, o);
      CHECK(r.ok());
      hashes.insert(r.trace_hash);
      histories.insert(history_to_jsonl(r.history));
    }
    CHECK(hashes.size() == 20);
    CHECK(histories.size() > 1);  // the seeds really produce different client-visible orders
  }
}

// G5, same path: once a session has a watch on a node, no read of that node may show a change
// that fires the watch before the session has recorded the event. G6: at most one event per
// registration.
TEST_CASE("a read racing a watched update never returns the new data before the event",
          "[scenario][watch]") {
  const Scenario sc = bundled("watch-registration-race.json");
  int checked_reads = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    RunOptions o;
    o.seed = seed;
    auto out = run_scenario(sc, o);
    REQUIRE(out.ok());
    struct Reg {
      std::string path;
      bool child;
      bool existed;
      int64_t zread;
    };
    std::map<int64_t, json> invokes;
    std::map<std::string, std::vector<Reg>> armed;                      // session -> not yet fired
    std::map<std::string, std::map<int64_t, std::string>> registering;  // unanswered watch reads
    std::set<int64_t> fired_early;  // watch reads whose watch fired before their answer
    for (const json& line : out.history) {
      const std::string kind = line["kind"];
      if (kind == "invoke") {
        invokes[line["id"]] = line;
        if (line.value("watch", false)) registering[line["session"]][line["id"]] = line["path"];
        continue;
      }
      const std::string session = line["session"];
      if (kind == "watch") {
        auto& regs = armed[session];
        auto it = std::find_if(regs.begin(), regs.end(),
                               [&](const Reg& r) { return r.path == line["path"]; });
        if (it != regs.end()) {
          regs.erase(it);
          continue;
        }
        // A watch may fire before its read answers (the node changed while it registered).
        auto& pend = registering[session];
        auto p = std::find_if(pend.begin(), pend.end(),
                              [&](const auto& kv) { return kv.second == line["path"]; });
        INFO("seed " << seed << ": event without registration " << line.dump());
        REQUIRE(p != pend.end());
        fired_early.insert(p->first);
        pend.erase(p);
        continue;
      }
      if (kind != "ok") continue;
      const json& inv = invokes[line["id"]];
      const std::string op = inv["op"];
      if (op != "get_data" && op != "exists" && op != "get_children") continue;
      const std::string path = inv["path"];
      const bool present = line.contains("stat") && !line["stat"].is_null();
      for (const Reg& r : armed[session]) {
        if (r.path != path) continue;
        ++checked_reads;
        bool changed;
        if (!r.existed) {
          changed = present;
        } else if (!present) {
          changed = true;
        } else {
          changed = line["stat"][r.child ? "pzxid" : "mzxid"].get<int64_t>() > r.zread ||
                    line["stat"]["czxid"].get<int64_t>() > r.zread;
        }
        INFO("seed " << seed << ": " << line.dump() << " shows a change before its watch event");
        CHECK_FALSE(changed);
      }
      registering[session].erase(line["id"].get<int64_t>());
      if (inv.value("watch", false) && (present || op == "exists") &&
          !fired_early.count(line["id"])) {
        const bool child = op == "get_children";
        armed[session].push_back(
            {path, child, present,
             present ? line["stat"][child ? "pzxid" : "mzxid"].get<int64_t>() : 0});
      }
    }
  }
  CHECK(checked_reads > 100);
}
