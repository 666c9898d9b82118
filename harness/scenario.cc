#include "harness/scenario.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/json/json_text.h"
#include "emulator/json_fields.h"
#include "harness/fault_plan.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

std::string where(const std::string& file, std::optional<size_t> step) {
  std::string w = file.empty() ? "scenario" : file;
  if (step) w += ": step " + std::to_string(*step);
  return w;
}

ScenarioConfig parse_config(const json& c) {
  if (!c.is_object()) throw FieldError{"\"config\" must be an object"};
  check_fields(c,
               {"writer_groups", "user_store", "session_timeout_ms", "heartbeat_period_ms",
                "latency_model", "function_memory_mb", "ttl_nodes"},
               "config");
  ScenarioConfig cfg;
  if (c.contains("writer_groups")) {
    cfg.writer_groups = get_string(c, "writer_groups", "config");
    if (cfg.writer_groups != "single" && cfg.writer_groups != "per_session")
      throw FieldError{"config.writer_groups must be \"single\" or \"per_session\", not \"" +
                       cfg.writer_groups + "\""};
  }
  if (c.contains("user_store")) {
    cfg.user_store = get_string(c, "user_store", "config");
    if (cfg.user_store != "object" && cfg.user_store != "kv")
      throw FieldError{"config.user_store must be \"object\" or \"kv\", not \"" + cfg.user_store +
                       "\""};
  }
  if (c.contains("session_timeout_ms"))
    cfg.session_timeout_ms = get_int(c, "session_timeout_ms", "config", 1, 3600 * 1000);
  if (c.contains("heartbeat_period_ms"))
    cfg.heartbeat_period_ms = get_int(c, "heartbeat_period_ms", "config", 1, 3600 * 1000);
  if (c.contains("ttl_nodes")) {
    if (!c["ttl_nodes"].is_boolean()) throw FieldError{"config.ttl_nodes must be true or false"};
    cfg.ttl_nodes = c["ttl_nodes"].get<bool>();
  }
  if (c.contains("latency_model")) {
    cfg.latency_model = get_string(c, "latency_model", "config");
    if (cfg.latency_model != "zero" && cfg.latency_model != "aws-2024")
      throw FieldError{"config.latency_model \"" + cfg.latency_model +
                       "\" is not available (known: zero, aws-2024)"};
  }
  if (c.contains("function_memory_mb")) {
    cfg.function_memory_mb =
        static_cast<int>(get_int(c, "function_memory_mb", "config", 1, 1 << 20));
    if (cfg.function_memory_mb != 512 && cfg.function_memory_mb != 1024 &&
        cfg.function_memory_mb != 2048)
      throw FieldError{
          "config.function_memory_mb must be 512, 1024 or 2048 (the measured ones), not " +
          std::to_string(cfg.function_memory_mb)};
  }
  return cfg;
}

}  // namespace

bool creates_ttl_nodes(const std::vector<Step>& steps) {
  for (const Step& st : steps) {
    if (st.ttl_ms) return true;
    for (const Step& o : st.ops)
      if (o.ttl_ms) return true;
  }
  return false;
}

Result<Scenario> parse_scenario(const json& j, const std::string& file) {
  // The step being read (none: the scenario's other fields). (A plain number: GCC 12 warns of
  // an optional's value read in the handlers.)
  constexpr size_t kNoStep = SIZE_MAX;
  size_t step_index = kNoStep;
  auto here = [&] {
    return where(file, step_index == kNoStep ? std::nullopt : std::optional<size_t>(step_index));
  };
  try {
    if (!j.is_object()) throw FieldError{"a scenario must be a JSON object"};
    check_fields(j, {"name", "description", "config", "sessions", "mode", "steps", "faults"},
                 "the scenario");
    Scenario sc;
    sc.file = file;
    sc.source = j;
    if (j.contains("name")) sc.name = get_string(j, "name", "the scenario");
    if (sc.name.empty()) sc.name = std::filesystem::path(file).stem().string();
    if (j.contains("description")) sc.description = get_string(j, "description", "the scenario");
    if (j.contains("config")) sc.config = parse_config(j["config"]);
    if (!j.contains("sessions")) throw FieldError{"missing field \"sessions\""};
    if (!j["sessions"].is_array() || j["sessions"].empty())
      throw FieldError{"field \"sessions\" must be a non-empty array of names"};
    std::set<std::string> names;
    for (const auto& s : j["sessions"]) {
      if (!s.is_string() || s.get<std::string>().empty())
        throw FieldError{"field \"sessions\" must be a non-empty array of names"};
      if (!names.insert(s.get<std::string>()).second)
        throw FieldError{"session \"" + s.get<std::string>() + "\" is declared twice"};
      sc.sessions.push_back(s.get<std::string>());
    }
    if (j.contains("mode")) {
      const std::string mode = get_string(j, "mode", "the scenario");
      if (mode == "sequential") {
        sc.mode = ScenarioMode::Sequential;
      } else if (mode == "concurrent") {
        sc.mode = ScenarioMode::Concurrent;
      } else {
        throw FieldError{"field \"mode\" must be \"sequential\" or \"concurrent\", not \"" + mode +
                         "\""};
      }
    }
    if (!j.contains("steps")) throw FieldError{"missing field \"steps\""};
    if (!j["steps"].is_array()) throw FieldError{"field \"steps\" must be an array"};
    for (size_t i = 0; i < j["steps"].size(); ++i) {
      step_index = i;
      auto st = parse_step(j["steps"][i], i, names);
      if (!st.is_ok()) throw FieldError{st.status().message()};
      sc.steps.push_back(std::move(*st));
    }
    step_index = kNoStep;
    if (!sc.config.ttl_nodes) sc.config.ttl_nodes = creates_ttl_nodes(sc.steps);
    if (j.contains("faults")) {
      if (!j["faults"].is_object())
        throw FieldError{"field \"faults\" must be an object of site: probability"};
      for (const auto& [site, p] : j["faults"].items()) {
        if (!is_fault_site(site)) {
          std::string known;
          for (const auto& f : fault_sites())
            known += std::string(known.empty() ? "" : ", ") + f.name;
          throw FieldError{"unknown fault site \"" + site + "\" (known: " + known + ")"};
        }
        if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
          throw FieldError{"fault \"" + site + "\" must have a probability between 0 and 1"};
      }
      sc.faults = j["faults"];
    }
    return sc;
  } catch (const FieldError& f) {
    return Status(Code::BadArguments, here() + ": " + f.msg);
  } catch (const json::exception& e) {
    return Status(Code::BadArguments, here() + ": " + e.what());
  }
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::BadArguments, path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  ASSIGN_OR_RETURN(const nlohmann::json j, parse_json(buf.str(), path));
  return parse_scenario(j, path);
}

Result<std::vector<std::string>> scenario_files(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".json")
        files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status(Code::BadArguments, path + ": no *.json scenario files");
    return files;
  }
  if (!std::filesystem::exists(path, ec))
    return Status(Code::BadArguments, path + ": no such file or directory");
  return std::vector<std::string>{path};
}

DeploymentConfig deployment_config(const ScenarioConfig& c) {
  DeploymentConfig d;
  d.writer_group_per_session = c.writer_groups == "per_session";
  d.user_store_kv = c.user_store == "kv";
  d.session_timeout = c.session_timeout_ms * kMillisecond;
  d.heartbeat_period = c.heartbeat_period_ms * kMillisecond;
  d.ttl_nodes = c.ttl_nodes.value_or(false);
  return d;
}

}  // namespace fkemu
