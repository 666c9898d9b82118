// Tests of the ZooKeeper reference harness: the runner against a real
// ZooKeeper server ([zookeeper]; these FAIL, never skip, when the server
// cannot start) and diff_histories (no server needed).

#include "harness/zookeeper_runner.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness/history_diff.h"
#include "harness/scenario.h"
#include "harness/zookeeper_server.h"

namespace fkemu::zkref {
namespace {

using nlohmann::json;

// One server for all tests of this binary, started on first use.
ZooKeeperServer& shared_server() {
  static Result<std::unique_ptr<ZooKeeperServer>> server = ZooKeeperServer::start();
  if (!server.is_ok()) FAIL("ZooKeeper server did not start: " << server.status().to_string());
  return **server;
}

// The scenario as the scenario loader gives it.
Scenario loaded(const json& scenario) {
  Result<Scenario> sc = parse_scenario(scenario);
  INFO("the loader: " << sc.status().to_string());
  REQUIRE(sc.is_ok());
  return std::move(sc).value();
}

ZkRunResult run_ok(const json& scenario) {
  ZkRunResult r = run_scenario_on_zookeeper(loaded(scenario), shared_server().host_port());
  INFO("runner error: " << r.status.to_string());
  REQUIRE(r.status.is_ok());
  return r;
}

// The ok/error line answering invocation `id`.
json answer(const std::vector<json>& history, int id) {
  for (const json& line : history) {
    if ((line["kind"] == "ok" || line["kind"] == "error") && line["id"] == id) return line;
  }
  FAIL("no answer for id " << id);
  return json();
}

// "invoke:1 ok:1 watch:b:NodeCreated:/x ..." for compact order checks.
std::string shape(const std::vector<json>& history) {
  std::string out;
  for (const json& line : history) {
    if (!out.empty()) out += ' ';
    const std::string kind = line["kind"];
    if (kind == "watch") {
      out += "watch:" + line["session"].get<std::string>() + ":" +
             line["event"].get<std::string>() + ":" + line["path"].get<std::string>();
    } else {
      out += kind + ":" + std::to_string(line["id"].get<int>());
    }
  }
  return out;
}

TEST_CASE("ZooKeeper answers basic operations", "[zookeeper]") {
  const json scenario = {
      {"name", "basics"},
      {"sessions", {"a"}},
      {"mode", "sequential"},
      {"steps",
       {
           {{"session", "a"}, {"op", "create"}, {"path", "/t1"}, {"data", "x"}},  // 1
           {{"session", "a"}, {"op", "create"}, {"path", "/t1"}, {"data", "x"}},  // 2
           {{"session", "a"}, {"op", "create"}, {"path", "/t1/s-"}, {"flags", {"sequential"}}},
           {{"session", "a"}, {"op", "set_data"}, {"path", "/t1"}, {"data", "y"}},  // 4
           {{"session", "a"}, {"op", "get_data"}, {"path", "/t1"}},                 // 5
           {{"session", "a"}, {"op", "exists"}, {"path", "/t1/nope"}},              // 6
           {{"session", "a"}, {"op", "get_children"}, {"path", "/t1"}},             // 7
           {{"session", "a"}, {"op", "delete"}, {"path", "/t1"}},                   // 8
           {{"session", "a"}, {"op", "delete"}, {"path", "/t1/s-0000000000"}, {"version", 5}},
           {{"session", "a"}, {"op", "create"}, {"path", "/t1/"}},  // 10
           {{"session", "a"}, {"op", "create"}, {"path", "/t1/e"}, {"flags", {"ephemeral"}}},
           {{"session", "a"}, {"op", "create"}, {"path", "/t1/e/x"}},  // 12
           {{"session", "a"}, {"op", "create"}, {"path", "/t1/bin"}, {"data_b64", "AP8="}},
           {{"session", "a"}, {"op", "get_data"}, {"path", "/t1/bin"}},  // 14
           {{"session", "a"}, {"op", "set_data"}, {"path", "/t1"}, {"data", "z"}, {"version", 0}},
           {{"session", "a"}, {"op", "get_data"}, {"path", "/t1/nope"}},  // 16
       }}};
  ZkRunResult r = run_ok(scenario);
  REQUIRE(r.history.size() == 32);  // invoke + answer per step, no watches

  CHECK(answer(r.history, 1)["path"] == "/t1");
  CHECK(answer(r.history, 1)["stat"]["version"] == 0);
  CHECK(answer(r.history, 2)["error"] == "NodeExists");
  CHECK(answer(r.history, 3)["path"] == "/t1/s-0000000000");
  CHECK(answer(r.history, 4)["stat"]["version"] == 1);
  const json got = answer(r.history, 5);
  CHECK(got["data"] == "y");
  CHECK(got["stat"]["numChildren"] == 1);
  CHECK(got["stat"]["dataLength"] == 1);
  CHECK(got["stat"]["ephemeralOwner"].is_null());
  CHECK(got["stat"]["czxid"].is_number_integer());
  CHECK(answer(r.history, 6)["kind"] == "ok");
  CHECK(answer(r.history, 6)["stat"].is_null());
  CHECK(answer(r.history, 7)["children"] == json({"s-0000000000"}));
  CHECK(answer(r.history, 7)["stat"]["cversion"] == 1);
  CHECK(answer(r.history, 8)["error"] == "NotEmpty");
  CHECK(answer(r.history, 9)["error"] == "BadVersion");
  CHECK(answer(r.history, 10)["error"] == "BadArguments");
  CHECK(answer(r.history, 11)["stat"]["ephemeralOwner"] == "a");
  CHECK(answer(r.history, 12)["error"] == "NoChildrenForEphemerals");
  CHECK(answer(r.history, 14)["data_b64"] == "AP8=");
  CHECK_FALSE(answer(r.history, 14).contains("data"));
  CHECK(answer(r.history, 15)["error"] == "BadVersion");
  CHECK(answer(r.history, 16)["error"] == "NoNode");

  // Invoke lines echo the step and number invocations from 1.
  CHECK(r.history[0] == json({{"kind", "invoke"},
                              {"id", 1},
                              {"session", "a"},
                              {"op", "create"},
                              {"path", "/t1"},
                              {"data", "x"},
                              {"t", r.history[0]["t"]}}));
  // ... as the scenario file wrote it: data_b64 stays data_b64, an absent "data" stays absent.
  for (const json& line : r.history) {
    if (line["kind"] != "invoke") continue;
    if (line["id"] == 13) CHECK(line["data_b64"] == "AP8=");
    if (line["id"] == 3) CHECK_FALSE(line.contains("data"));
  }
  int64_t last_t = 0;
  for (const json& line : r.history) {
    CHECK(line["t"].get<int64_t>() >= last_t);
    last_t = line["t"].get<int64_t>();
  }
}

TEST_CASE("ZooKeeper watch events follow the canonical order", "[zookeeper]") {
  const json scenario = {
      {"sessions", {"a", "b"}},
      {"steps",
       {
           {{"session", "b"}, {"op", "exists"}, {"path", "/t2"}, {"watch", true}},    // 1
           {{"session", "a"}, {"op", "create"}, {"path", "/t2"}, {"data", ""}},       // 2
           {{"session", "b"}, {"op", "get_data"}, {"path", "/t2"}, {"watch", true}},  // 3
           {{"session", "b"}, {"op", "exists"}, {"path", "/t2"}, {"watch", true}},    // 4
           {{"session", "a"}, {"op", "set_data"}, {"path", "/t2"}, {"data", "1"}},    // 5
           {{"session", "a"}, {"op", "get_data"}, {"path", "/t2"}, {"watch", true}},  // 6
           {{"session", "a"}, {"op", "set_data"}, {"path", "/t2"}, {"data", "2"}},    // 7
           {{"session", "a"}, {"op", "create"}, {"path", "/t2/e"}, {"flags", {"ephemeral"}}},
           {{"session", "b"}, {"op", "exists"}, {"path", "/t2/e"}, {"watch", true}},  // 9
           {{"session", "b"}, {"op", "get_children"}, {"path", "/t2"}, {"watch", true}},
           {{"session", "a"}, {"op", "close"}},  // 11
           {{"wait_ms", 10}},
           {{"session", "a"}, {"op", "get_data"}, {"path", "/t2"}},  // 12
           {{"session", "b"}, {"op", "exists"}, {"path", "/t2/e"}},  // 13
           {{"session", "b"}, {"op", "delete"}, {"path", "/t2"}},    // 14
       }}};
  ZkRunResult r = run_ok(scenario);
  CHECK(shape(r.history) ==
        "invoke:1 ok:1 "
        "invoke:2 ok:2 watch:b:NodeCreated:/t2 "
        "invoke:3 ok:3 invoke:4 ok:4 "
        "invoke:5 ok:5 watch:b:NodeDataChanged:/t2 watch:b:NodeDataChanged:/t2 "
        "invoke:6 ok:6 "
        "invoke:7 watch:a:NodeDataChanged:/t2 ok:7 "
        "invoke:8 ok:8 invoke:9 ok:9 invoke:10 ok:10 "
        "invoke:11 ok:11 watch:b:NodeDeleted:/t2/e watch:b:NodeChildrenChanged:/t2 "
        "invoke:12 error:12 invoke:13 ok:13 invoke:14 ok:14");
  CHECK(answer(r.history, 1)["stat"].is_null());
  CHECK(answer(r.history, 9)["stat"]["ephemeralOwner"] == "a");
  CHECK(answer(r.history, 12)["error"] == "SessionExpired");
  CHECK(answer(r.history, 13)["stat"].is_null());
  for (const json& line : r.history) {
    if (line["kind"] == "watch") CHECK_FALSE(line.contains("zxid"));
  }
}

TEST_CASE("Two runs of one scenario give equal canonical histories", "[zookeeper]") {
  // Cleans up after itself, so the second run sees the same tree; absolute
  // zxids and times differ between the runs.
  const json scenario = {
      {"sessions", {"a", "b"}},
      {"steps",
       {
           {{"session", "a"}, {"op", "create"}, {"path", "/t3"}},
           {{"session", "b"}, {"op", "get_children"}, {"path", "/t3"}, {"watch", true}},
           {{"session", "a"},
            {"op", "create"},
            {"path", "/t3/n-"},
            {"flags", {"ephemeral", "sequential"}}},
           {{"session", "b"},
            {"op", "create"},
            {"path", "/t3/n-"},
            {"flags", {"ephemeral", "sequential"}}},
           {{"session", "b"}, {"op", "get_data"}, {"path", "/t3/n-0000000000"}, {"watch", true}},
           {{"session", "a"}, {"op", "close"}},
           {{"session", "b"}, {"op", "get_children"}, {"path", "/t3"}},
           {{"session", "b"}, {"op", "delete"}, {"path", "/t3/n-0000000001"}},
           {{"session", "b"}, {"op", "delete"}, {"path", "/t3"}},
       }}};
  ZkRunResult first = run_ok(scenario);
  ZkRunResult second = run_ok(scenario);
  CHECK(first.history.front()["id"] == 1);
  CHECK(answer(first.history, 7)["children"] == json({"n-0000000001"}));
  CHECK(answer(first.history, 7)["stat"]["cversion"] == 3);
  const std::vector<std::string> diffs = diff_histories(first.history, second.history);
  INFO("first difference: " << (diffs.empty() ? std::string("none") : diffs.front()));
  CHECK(diffs.empty());
}

TEST_CASE("A close has taken effect on ZooKeeper before the next step", "[zookeeper]") {
  // No wait step after the closes: the runner itself waits until the closed
  // session's ephemerals are gone (zookeeper_close() does not wait for the
  // server). /t4/e1 is deleted by its creator and re-created by b, so the
  // wait must tell nodes apart by czxid, not by path.
  const json scenario = {
      {"sessions", {"a", "b", "c"}},
      {"steps",
       {
           {{"session", "a"}, {"op", "create"}, {"path", "/t4"}},                               // 1
           {{"session", "a"}, {"op", "create"}, {"path", "/t4/e1"}, {"flags", {"ephemeral"}}},  // 2
           {{"session", "a"},
            {"op", "create"},
            {"path", "/t4/s-"},
            {"flags", {"ephemeral", "sequential"}}},                                            // 3
           {{"session", "a"}, {"op", "delete"}, {"path", "/t4/e1"}},                            // 4
           {{"session", "b"}, {"op", "create"}, {"path", "/t4/e1"}, {"flags", {"ephemeral"}}},  // 5
           {{"session", "c"}, {"op", "get_children"}, {"path", "/t4"}, {"watch", true}},        // 6
           {{"session", "a"}, {"op", "close"}},                                                 // 7
           {{"session", "c"}, {"op", "get_children"}, {"path", "/t4"}, {"watch", true}},        // 8
           {{"session", "b"}, {"op", "close"}},                                                 // 9
           {{"session", "c"}, {"op", "get_children"}, {"path", "/t4"}},  // 10
           {{"session", "c"}, {"op", "delete"}, {"path", "/t4"}},        // 11
       }}};
  ZkRunResult r = run_ok(scenario);
  CHECK(shape(r.history) ==
        "invoke:1 ok:1 invoke:2 ok:2 invoke:3 ok:3 invoke:4 ok:4 invoke:5 ok:5 invoke:6 ok:6 "
        "invoke:7 ok:7 watch:c:NodeChildrenChanged:/t4 "
        "invoke:8 ok:8 "
        "invoke:9 ok:9 watch:c:NodeChildrenChanged:/t4 "
        "invoke:10 ok:10 invoke:11 ok:11");
  CHECK(answer(r.history, 3)["path"] == "/t4/s-0000000001");
  CHECK(answer(r.history, 5)["stat"]["ephemeralOwner"] == "b");
  CHECK(answer(r.history, 8)["children"] == json({"e1"}));
  CHECK(answer(r.history, 10)["children"] == json::array());
}

TEST_CASE("Ephemerals of sessions open at the end are gone when a run returns", "[zookeeper]") {
  // "a" stays open to the end; "b" is the last open session when it closes,
  // so a temporary session (in no history) watches its ephemeral go.
  const json leave_open = {
      {"sessions", {"a"}},
      {"steps", {{{"session", "a"}, {"op", "create"}, {"path", "/t5"}, {"flags", {"ephemeral"}}}}}};
  const json close_last = {
      {"sessions", {"b"}},
      {"steps",
       {{{"session", "b"}, {"op", "create"}, {"path", "/t6"}, {"flags", {"ephemeral"}}},
        {{"session", "b"}, {"op", "close"}}}}};
  const json probe = {{"sessions", {"c"}},
                      {"steps",
                       {{{"session", "c"}, {"op", "exists"}, {"path", "/t5"}},
                        {{"session", "c"}, {"op", "exists"}, {"path", "/t6"}}}}};
  for (int round = 0; round < 2; ++round) {
    ZkRunResult first = run_ok(leave_open);
    CHECK(answer(first.history, 1)["kind"] == "ok");  // round 1: not NodeExists
    ZkRunResult second = run_ok(close_last);
    CHECK(second.history.size() == 4);
    CHECK(answer(second.history, 1)["kind"] == "ok");
    ZkRunResult third = run_ok(probe);
    CHECK(answer(third.history, 1)["stat"].is_null());
    CHECK(answer(third.history, 2)["stat"].is_null());
  }
}

TEST_CASE("Scenarios that cannot be compared are refused", "[zookeeper_runner]") {
  // (Scenarios the loader refuses, e.g. a step of an undeclared session, never reach the
  // runner: scenario_test.cc.)
  const Scenario concurrent =
      loaded({{"mode", "concurrent"}, {"sessions", {"a"}}, {"steps", json::array()}});
  Status why = scenario_comparable_with_zookeeper(concurrent);
  CHECK(why.code() == Code::BadArguments);
  CHECK(why.message().find("not comparable") != std::string::npos);
  ZkRunResult r = run_scenario_on_zookeeper(concurrent, "127.0.0.1:1");
  CHECK(r.status.code() == Code::BadArguments);
  CHECK(r.status.message().find("not comparable") != std::string::npos);

  const Scenario expire =
      loaded({{"sessions", {"a"}}, {"steps", {{{"session", "a"}, {"op", "expire"}}}}});
  why = scenario_comparable_with_zookeeper(expire);
  CHECK(why.code() == Code::BadArguments);
  CHECK(why.message().find("expire") != std::string::npos);
  r = run_scenario_on_zookeeper(expire, "127.0.0.1:1");
  CHECK(r.status.code() == Code::BadArguments);
  CHECK(r.status.message().find("not comparable") != std::string::npos);
  CHECK(r.history.empty());

  CHECK(scenario_comparable_with_zookeeper(loaded({{"sessions", {"a"}}, {"steps", json::array()}}))
            .is_ok());

  CHECK(zookeeper_error_name(-101) == "NoNode");
  CHECK(zookeeper_error_name(-8) == "BadArguments");
}

std::vector<json> sample_history(int64_t zxid_base, int64_t t_base, int get_version) {
  auto stat = [&](int64_t c, int64_t m, int version) {
    return json{{"czxid", zxid_base + c}, {"mzxid", zxid_base + m}, {"pzxid", zxid_base + c},
                {"ctime", t_base + 5},    {"mtime", t_base + 9},    {"version", version},
                {"cversion", 0},          {"aversion", 0},          {"ephemeralOwner", nullptr},
                {"dataLength", 1},        {"numChildren", 0}};
  };
  return {
      {{"kind", "invoke"},
       {"id", 1},
       {"session", "a"},
       {"op", "create"},
       {"path", "/a"},
       {"data", "x"},
       {"t", t_base + 1}},
      {{"kind", "ok"},
       {"id", 1},
       {"session", "a"},
       {"path", "/a"},
       {"stat", stat(3, 3, 0)},
       {"t", t_base + 2}},
      {{"kind", "invoke"},
       {"id", 2},
       {"session", "b"},
       {"op", "get_data"},
       {"path", "/a"},
       {"watch", true},
       {"t", t_base + 3}},
      {{"kind", "ok"},
       {"id", 2},
       {"session", "b"},
       {"data", "x"},
       {"stat", stat(3, 3, get_version)},
       {"t", t_base + 4}},
      {{"kind", "invoke"},
       {"id", 3},
       {"session", "a"},
       {"op", "set_data"},
       {"path", "/a"},
       {"data", "y"},
       {"t", t_base + 5}},
      {{"kind", "ok"}, {"id", 3}, {"session", "a"}, {"stat", stat(3, 7, 1)}, {"t", t_base + 6}},
      {{"kind", "watch"},
       {"session", "b"},
       {"event", "NodeDataChanged"},
       {"path", "/a"},
       {"t", t_base + 7}},
  };
}

TEST_CASE("diff_histories ignores t, times and absolute zxids", "[history_diff]") {
  std::vector<json> zk = sample_history(0x100000000, 1000, 0);
  std::vector<json> emu = sample_history(40, 7, 0);
  emu.back()["zxid"] = 47;  // fkemu's watch zxid: ZooKeeper has none
  emu[0].erase("data");     // invoke arguments are not compared
  emu[0]["data_b64"] = "eA==";
  emu[2]["watch"] = false;
  CHECK(diff_histories(zk, emu).empty());
  CHECK(diff_histories(zk, zk).empty());
}

TEST_CASE("diff_histories names the differing field", "[history_diff]") {
  std::vector<json> zk = sample_history(10, 0, 0);
  std::vector<json> emu = sample_history(10, 0, 0);
  emu[3]["stat"]["version"] = 1;  // get_data by b, id 2
  std::vector<std::string> diffs = diff_histories(zk, emu);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0] == "line 4 (id 2, session b, get_data /a): stat.version: zookeeper 0, fkemu 1");

  // Relative zxid order: set_data's mzxid before the create's czxid.
  emu = sample_history(10, 0, 0);
  emu[5]["stat"]["mzxid"] = 1;
  diffs = diff_histories(zk, emu);
  CHECK(std::any_of(diffs.begin(), diffs.end(), [](const std::string& d) {
    return d.find("line 6 (id 3, session a, set_data /a): stat.mzxid: ") == 0 &&
           d.find("(zxid ranks)") != std::string::npos;
  }));

  // Missing and extra lines, and absent fields.
  emu = sample_history(10, 0, 0);
  emu.pop_back();
  diffs = diff_histories(zk, emu);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].find("line 7 (watch, session b, NodeDataChanged /a): missing in fkemu") == 0);
  diffs = diff_histories(emu, zk);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].find("extra in fkemu") != std::string::npos);

  // An extra line in the middle is reported alone; later lines still pair.
  emu = sample_history(10, 0, 0);
  emu.insert(emu.begin() + 2,
             json{{"kind", "watch"}, {"session", "a"}, {"event", "NodeCreated"}, {"path", "/a"}});
  emu[6]["stat"]["version"] = 2;  // set_data answer, now fkemu line 7
  diffs = diff_histories(zk, emu);
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].find("fkemu line 3 (watch, session a, NodeCreated /a): extra in fkemu") == 0);
  CHECK(diffs[1] ==
        "line 6 [fkemu 7] (id 3, session a, set_data /a): stat.version: zookeeper 1, fkemu 2");

  emu = sample_history(10, 0, 0);
  emu[1].erase("stat");
  emu[1]["error"] = "NodeExists";
  diffs = diff_histories(zk, emu);
  CHECK(diffs.size() == 2);
  CHECK(std::find(diffs.begin(), diffs.end(),
                  "line 2 (id 1, session a, create /a): error: zookeeper (absent), fkemu "
                  "\"NodeExists\"") != diffs.end());
}

TEST_CASE("read_history_jsonl reads JSON Lines", "[history_diff]") {
  std::istringstream in(
      "{\"kind\":\"invoke\",\"id\":1,\"session\":\"a\",\"op\":\"close\",\"t\":1}\n"
      "\n"
      "{\"kind\":\"ok\",\"id\":1,\"session\":\"a\",\"t\":2}\r\n");
  std::vector<json> h = read_history_jsonl(in);
  REQUIRE(h.size() == 2);
  CHECK(h[1]["kind"] == "ok");
  std::istringstream bad("{\"kind\":\"ok\"}\n{oops\n");
  CHECK_THROWS_WITH(read_history_jsonl(bad), Catch::Contains("line 2"));
}

}  // namespace
}  // namespace fkemu::zkref
