// The differential test: every bundled scenario that can be compared with
// ZooKeeper (sequential, no "expire") is run on a real Apache ZooKeeper and on
// fkemu, and the two histories must be equal after diff_histories'
// canonicalization (t, ctime/mtime and absolute zxids ignored; nothing else).
// It FAILS, never skips, when ZooKeeper cannot be started or run.

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "harness/history_diff.h"
#include "harness/model_runner.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"
#include "harness/workload_generator.h"
#include "harness/zookeeper_runner.h"
#include "harness/zookeeper_server.h"

namespace fkemu::zkref {
namespace {

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += "\n  " + item;
  return out;
}

TEST_CASE("fkemu answers every comparable scenario as ZooKeeper does",
          "[zookeeper][differential]") {
  const std::string dir = std::string(FKEMU_SOURCE_DIR) + "/scenarios";
  auto files = scenario_files(dir);
  INFO("scenario directory: " << dir);
  REQUIRE(files.is_ok());

  std::vector<std::string> compared;
  std::vector<std::string> not_comparable;
  for (const std::string& file : *files) {
    const std::string name = base_name(file);
    INFO("scenario " << name);
    auto scenario = load_scenario(file);
    if (!scenario.is_ok()) {
      FAIL_CHECK("fkemu cannot load it: " << scenario.status().message());
      continue;
    }
    std::string why;
    if (!scenario_comparable_with_zookeeper(scenario->source, &why)) {
      not_comparable.push_back(name + ": " + why);
      continue;
    }
    compared.push_back(name);

    // A fresh server per scenario: every scenario starts from an empty tree
    // and from the same zxids, as it does on fkemu.
    std::string server_error;
    std::unique_ptr<ZooKeeperServer> server = ZooKeeperServer::start(&server_error);
    INFO("ZooKeeper server error: " << server_error);
    REQUIRE(server != nullptr);

    const ZkRunResult zk = run_scenario_on_zookeeper(scenario->source, server->host_port());
    INFO("ZooKeeper server log: " << server->log_path());
    if (!zk.ok) {
      FAIL_CHECK("the ZooKeeper run failed: " << zk.error);
      continue;
    }
    CHECK_FALSE(zk.history.empty());

    const RunOutcome emu = run_scenario(*scenario);
    INFO("fkemu expectation failures:" << lines(emu.expectation_failures));
    INFO("fkemu problems:" << lines(emu.problems));
    CHECK(emu.ok());

    const std::vector<std::string> diffs = diff_histories(zk.history, emu.history);
    INFO("differences (ZooKeeper's history vs fkemu's):" << lines(diffs));
    CHECK(diffs.empty());

    // The checker's oracle, the sequential model, must agree with the real server too.
    auto model = run_scenario_on_model(*scenario);
    REQUIRE(model.has_value());
    const std::vector<std::string> model_diffs = diff_histories(zk.history, *model);
    INFO("differences (ZooKeeper's history vs the model's):" << lines(model_diffs));
    CHECK(model_diffs.empty());
  }

  INFO("compared with ZooKeeper:" << lines(compared));
  INFO("not comparable:" << lines(not_comparable));
  REQUIRE(compared.size() >= 15);
}

// Generated comparable scenarios on one server, its tree cleared between them (as diff-zk
// --generate runs them): ZooKeeper, fkemu and the model give the same history.
TEST_CASE("generated scenarios: ZooKeeper, fkemu and the model agree",
          "[zookeeper][differential][generator]") {
  std::string server_error;
  std::unique_ptr<ZooKeeperServer> server = ZooKeeperServer::start(&server_error);
  INFO("ZooKeeper server error: " << server_error);
  REQUIRE(server != nullptr);
  GeneratorOptions o;
  o.comparable = true;
  for (uint64_t i = 0; i < 40; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(20261206, i), o);
    INFO("scenario " << sc.name << ":\n" << sc.source.dump(1));
    std::string error;
    REQUIRE(clear_zookeeper_tree(server->host_port(), &error));
    const ZkRunResult zk = run_scenario_on_zookeeper(sc.source, server->host_port());
    INFO("the ZooKeeper run: " << zk.error);
    REQUIRE(zk.ok);
    const auto fk = diff_histories(zk.history, run_scenario(sc).history);
    INFO("ZooKeeper vs fkemu:" << lines(fk));
    CHECK(fk.empty());
    const auto model = run_scenario_on_model(sc);
    REQUIRE(model.has_value());
    const auto md = diff_histories(zk.history, *model);
    INFO("ZooKeeper vs the model:" << lines(md));
    CHECK(md.empty());
  }
}

// The command, end to end: fkemu diff-zk --generate, its JSON report.
TEST_CASE("fkemu diff-zk --generate reports in JSON", "[zookeeper][differential][cli]") {
  const std::string out = std::string(FKEMU_BINARY_DIR) + "/diff-zk-generate";
  const std::string cmd = std::string(FKEMU_BINARY_DIR) +
                          "/apps/fkemu diff-zk --generate 25 --seed 4 --json --out " + out +
                          " 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  const int status = pclose(p);
  INFO(text);
  const nlohmann::json j = nlohmann::json::parse(text);
  CHECK(j.at("scenarios") == 25);
  CHECK(j.at("identical") == 25);
  CHECK(j.at("different").empty());
  CHECK(status == 0);
}

}  // namespace
}  // namespace fkemu::zkref
