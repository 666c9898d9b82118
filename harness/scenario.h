// Scenario: a parsed scenario file (docs/scenarios.md), validated strictly.
//
// load_scenario() / parse_scenario() refuse what the contract does not allow (invalid JSON,
// unknown fields, unknown ops or flags, mistyped values, sessions not declared) with an error
// that names the file, the step index and the problem. A step whose path is invalid is not a
// file error: it runs and is answered BadArguments, as ZooKeeper would answer. The steps are in
// the operation format of emulator/operation.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/status.h"
#include "emulator/operation.h"

namespace fkemu {

enum class ScenarioMode { Sequential, Concurrent };

struct ScenarioConfig {
  std::string writer_groups = "single";  // single | per_session
  std::string user_store = "object";     // object | kv
  int64_t session_timeout_ms = 4000;
  int64_t heartbeat_period_ms = 1000;
  std::string latency_model = "zero";  // zero | aws-2024 (emulator/aws_latency.h)
  int function_memory_mb = 2048;       // the aws-2024 model's Lambda memory: 512 | 1024 | 2048
  // TTL nodes on (DeploymentConfig::ttl_nodes; decision 53): the config's "ttl_nodes", else
  // whether a step creates a TTL node ("ttl_ms").
  std::optional<bool> ttl_nodes;
};

struct Scenario {
  std::string file;  // where it was loaded from ("" if parsed from memory)
  std::string name;
  std::string description;
  ScenarioConfig config;
  std::vector<std::string> sessions;
  ScenarioMode mode = ScenarioMode::Sequential;
  std::vector<Step> steps;
  nlohmann::json faults;  // null when absent
  nlohmann::json source;  // the file's JSON as read
};

Result<Scenario> parse_scenario(const nlohmann::json& j, const std::string& file = {});
Result<Scenario> load_scenario(const std::string& path);
// The *.json files of a directory in name order, or the file itself.
Result<std::vector<std::string>> scenario_files(const std::string& path);

DeploymentConfig deployment_config(const ScenarioConfig& c);
// Whether a step (or an operation of a multi) creates a TTL node (ttl_ms).
bool creates_ttl_nodes(const std::vector<Step>& steps);

}  // namespace fkemu
