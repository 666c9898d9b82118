// Scenario: a parsed scenario file (SCENARIOS.md), validated strictly.
//
// load_scenario() / parse_scenario() refuse what the contract does not allow (invalid JSON,
// unknown fields, unknown ops or flags, mistyped values, sessions not declared) with an error
// that names the file, the step index and the problem. A step whose path is invalid is not a
// file error: it runs and is answered BadArguments, as ZooKeeper would answer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/status.h"

namespace fkemu {

enum class ScenarioMode { Sequential, Concurrent };

struct ScenarioConfig {
  std::string writer_groups = "single";  // single | per_session
  std::string user_store = "object";     // object | kv
  int64_t session_timeout_ms = 4000;
  int64_t heartbeat_period_ms = 1000;
  std::string latency_model = "zero";  // zero | aws-2024 (emulator/aws_latency.h)
  int function_memory_mb = 2048;       // the aws-2024 model's Lambda memory: 512 | 1024 | 2048
};

struct Step {
  size_t index = 0;  // position in "steps"
  bool is_wait = false;
  int64_t wait_ms = 0;
  std::string session;
  std::string op;  // create get_data exists get_children set_data delete close expire
  std::string path;
  std::string data;  // bytes (from data or data_b64)
  bool ephemeral = false;
  bool sequential = false;
  std::vector<std::string> flags;  // as written, for the history
  bool watch = false;
  int version = -1;
  nlohmann::json expect;  // null when absent
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
// One node or session operation in the step format, for session `session` (the step names no
// session; fkemu serve's requests use this format). Refused as parse_scenario refuses a step.
Result<Step> parse_operation(const nlohmann::json& op, const std::string& session);
// Puts `bytes` into `into` as history lines do: under `key_utf8` if they are valid UTF-8, else
// base64-encoded under `key_b64`.
void put_data_field(const std::string& bytes, const char* key_utf8, const char* key_b64,
                    nlohmann::json& into);
// The *.json files of a directory in name order, or the file itself.
Result<std::vector<std::string>> scenario_files(const std::string& path);

DeploymentConfig deployment_config(const ScenarioConfig& c);

}  // namespace fkemu
