#include "harness/scenario.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/json/json_text.h"
#include "harness/base64.h"
#include "harness/fault_plan.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

const std::set<std::string> kNodeOps = {"create",       "get_data", "exists",
                                        "get_children", "set_data", "delete"};
const std::set<std::string> kSessionOps = {"close", "expire"};
const std::set<std::string> kReadOps = {"get_data", "exists", "get_children"};

struct Fail {
  std::string msg;
};

std::string where(const std::string& file, std::optional<size_t> step) {
  std::string w = file.empty() ? "scenario" : file;
  if (step) w += ": step " + std::to_string(*step);
  return w;
}

void check_fields(const json& obj, const std::set<std::string>& allowed, const std::string& what) {
  for (const auto& [k, v] : obj.items())
    if (!allowed.count(k)) throw Fail{"unknown field \"" + k + "\" in " + what};
}

std::string get_string(const json& obj, const char* key, const std::string& what) {
  const json& v = obj.at(key);
  if (!v.is_string())
    throw Fail{std::string("field \"") + key + "\" of " + what + " must be a string"};
  return v.get<std::string>();
}

int64_t get_int(const json& obj, const char* key, const std::string& what, int64_t lo, int64_t hi) {
  const json& v = obj.at(key);
  if (!v.is_number_integer())
    throw Fail{std::string("field \"") + key + "\" of " + what + " must be an integer"};
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    throw Fail{std::string("field \"") + key + "\" of " + what + " is " + std::to_string(n) +
               ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  return n;
}

ScenarioConfig parse_config(const json& c) {
  if (!c.is_object()) throw Fail{"\"config\" must be an object"};
  check_fields(c,
               {"writer_groups", "user_store", "session_timeout_ms", "heartbeat_period_ms",
                "latency_model", "function_memory_mb"},
               "config");
  ScenarioConfig cfg;
  if (c.contains("writer_groups")) {
    cfg.writer_groups = get_string(c, "writer_groups", "config");
    if (cfg.writer_groups != "single" && cfg.writer_groups != "per_session")
      throw Fail{"config.writer_groups must be \"single\" or \"per_session\", not \"" +
                 cfg.writer_groups + "\""};
  }
  if (c.contains("user_store")) {
    cfg.user_store = get_string(c, "user_store", "config");
    if (cfg.user_store != "object" && cfg.user_store != "kv")
      throw Fail{"config.user_store must be \"object\" or \"kv\", not \"" + cfg.user_store + "\""};
  }
  if (c.contains("session_timeout_ms"))
    cfg.session_timeout_ms = get_int(c, "session_timeout_ms", "config", 1, 3600 * 1000);
  if (c.contains("heartbeat_period_ms"))
    cfg.heartbeat_period_ms = get_int(c, "heartbeat_period_ms", "config", 1, 3600 * 1000);
  if (c.contains("latency_model")) {
    cfg.latency_model = get_string(c, "latency_model", "config");
    if (cfg.latency_model != "zero" && cfg.latency_model != "aws-2024")
      throw Fail{"config.latency_model \"" + cfg.latency_model +
                 "\" is not available (known: zero, aws-2024)"};
  }
  if (c.contains("function_memory_mb")) {
    cfg.function_memory_mb =
        static_cast<int>(get_int(c, "function_memory_mb", "config", 1, 1 << 20));
    if (cfg.function_memory_mb != 512 && cfg.function_memory_mb != 1024 &&
        cfg.function_memory_mb != 2048)
      throw Fail{"config.function_memory_mb must be 512, 1024 or 2048 (the measured ones), not " +
                 std::to_string(cfg.function_memory_mb)};
  }
  return cfg;
}

void parse_expect(const json& e) {
  if (!e.is_object()) throw Fail{"\"expect\" must be an object"};
  check_fields(e, {"ok", "error", "data", "data_b64", "path", "children", "stat"}, "expect");
  if (e.contains("ok") && !e["ok"].is_boolean()) throw Fail{"expect.ok must be true or false"};
  if (e.contains("error")) {
    if (!e["error"].is_string()) throw Fail{"expect.error must be a string"};
    if (!code_from_name(e["error"].get<std::string>()) || e["error"] == "Ok")
      throw Fail{"expect.error \"" + e["error"].get<std::string>() +
                 "\" is not a ZooKeeper error name"};
  }
  for (const char* k : {"data", "data_b64", "path"})
    if (e.contains(k) && !e[k].is_string())
      throw Fail{std::string("expect.") + k + " must be a string"};
  if (e.contains("children")) {
    if (!e["children"].is_array()) throw Fail{"expect.children must be an array of names"};
    for (const auto& c : e["children"])
      if (!c.is_string()) throw Fail{"expect.children must be an array of names"};
  }
  if (e.contains("stat") && !e["stat"].is_object() && !e["stat"].is_null())
    throw Fail{"expect.stat must be an object or null"};
}

Step parse_step(const json& s, size_t index, const std::set<std::string>& sessions) {
  if (!s.is_object()) throw Fail{"a step must be an object"};
  Step st;
  st.index = index;
  if (s.contains("wait_ms")) {
    check_fields(s, {"wait_ms"}, "a wait step");
    st.is_wait = true;
    st.wait_ms = get_int(s, "wait_ms", "the step", 0, 24LL * 3600 * 1000);
    return st;
  }
  if (!s.contains("op")) throw Fail{"missing field \"op\""};
  st.op = get_string(s, "op", "the step");
  if (!kNodeOps.count(st.op) && !kSessionOps.count(st.op))
    throw Fail{"unknown op \"" + st.op + "\""};
  if (!s.contains("session")) throw Fail{"missing field \"session\""};
  st.session = get_string(s, "session", "the step");
  if (!sessions.count(st.session))
    throw Fail{"session \"" + st.session + "\" is not declared in \"sessions\""};

  std::set<std::string> allowed = {"op", "session", "expect"};
  if (kNodeOps.count(st.op)) allowed.insert("path");
  if (st.op == "create" || st.op == "set_data") {
    allowed.insert("data");
    allowed.insert("data_b64");
  }
  if (st.op == "create") allowed.insert("flags");
  if (kReadOps.count(st.op)) allowed.insert("watch");
  if (st.op == "set_data" || st.op == "delete") allowed.insert("version");
  check_fields(s, allowed, "a " + st.op + " step");

  if (kNodeOps.count(st.op)) {
    if (!s.contains("path")) throw Fail{"missing field \"path\""};
    st.path = get_string(s, "path", "the step");
  }
  if (s.contains("data") && s.contains("data_b64"))
    throw Fail{"give \"data\" or \"data_b64\", not both"};
  if (s.contains("data")) st.data = get_string(s, "data", "the step");
  if (s.contains("data_b64")) {
    auto bytes = base64_decode(get_string(s, "data_b64", "the step"));
    if (!bytes) throw Fail{"field \"data_b64\" is not valid base64"};
    st.data = *bytes;
  }
  if (s.contains("flags")) {
    if (!s["flags"].is_array()) throw Fail{"field \"flags\" must be an array"};
    for (const auto& f : s["flags"]) {
      if (!f.is_string()) throw Fail{"field \"flags\" must be an array of strings"};
      const std::string flag = f.get<std::string>();
      if (flag == "ephemeral") {
        st.ephemeral = true;
      } else if (flag == "sequential") {
        st.sequential = true;
      } else {
        throw Fail{"unknown flag \"" + flag + "\" (known: ephemeral, sequential)"};
      }
      st.flags.push_back(flag);
    }
  }
  if (s.contains("watch")) {
    if (!s["watch"].is_boolean()) throw Fail{"field \"watch\" must be true or false"};
    st.watch = s["watch"].get<bool>();
  }
  if (s.contains("version"))
    st.version = static_cast<int>(get_int(s, "version", "the step", -1, INT32_MAX));
  if (s.contains("expect")) {
    parse_expect(s["expect"]);
    st.expect = s["expect"];
  }
  return st;
}

}  // namespace

Result<Step> parse_operation(const json& op, const std::string& session) {
  try {
    if (!op.is_object()) throw Fail{"an operation must be a JSON object"};
    if (op.contains("session")) throw Fail{"unknown field \"session\" (the URL names it)"};
    if (op.contains("wait_ms")) throw Fail{"unknown field \"wait_ms\""};
    json with = op;
    with["session"] = session;
    Step st = parse_step(with, 0, {session});
    if (st.op == "expire") throw Fail{"unknown op \"expire\""};
    return st;
  } catch (const Fail& f) {
    return Status(Code::BadArguments, f.msg);
  }
}

void put_data_field(const std::string& bytes, const char* key_utf8, const char* key_b64,
                    json& into) {
  if (is_valid_utf8(bytes)) {
    into[key_utf8] = bytes;
  } else {
    into[key_b64] = base64_encode(bytes);
  }
}

Result<Scenario> parse_scenario(const json& j, const std::string& file) {
  std::optional<size_t> step_index;
  try {
    if (!j.is_object()) throw Fail{"a scenario must be a JSON object"};
    check_fields(j, {"name", "description", "config", "sessions", "mode", "steps", "faults"},
                 "the scenario");
    Scenario sc;
    sc.file = file;
    sc.source = j;
    if (j.contains("name")) sc.name = get_string(j, "name", "the scenario");
    if (sc.name.empty()) sc.name = std::filesystem::path(file).stem().string();
    if (j.contains("description")) sc.description = get_string(j, "description", "the scenario");
    if (j.contains("config")) sc.config = parse_config(j["config"]);
    if (!j.contains("sessions")) throw Fail{"missing field \"sessions\""};
    if (!j["sessions"].is_array() || j["sessions"].empty())
      throw Fail{"field \"sessions\" must be a non-empty array of names"};
    std::set<std::string> names;
    for (const auto& s : j["sessions"]) {
      if (!s.is_string() || s.get<std::string>().empty())
        throw Fail{"field \"sessions\" must be a non-empty array of names"};
      if (!names.insert(s.get<std::string>()).second)
        throw Fail{"session \"" + s.get<std::string>() + "\" is declared twice"};
      sc.sessions.push_back(s.get<std::string>());
    }
    if (j.contains("mode")) {
      const std::string mode = get_string(j, "mode", "the scenario");
      if (mode == "sequential") {
        sc.mode = ScenarioMode::Sequential;
      } else if (mode == "concurrent") {
        sc.mode = ScenarioMode::Concurrent;
      } else {
        throw Fail{"field \"mode\" must be \"sequential\" or \"concurrent\", not \"" + mode + "\""};
      }
    }
    if (!j.contains("steps")) throw Fail{"missing field \"steps\""};
    if (!j["steps"].is_array()) throw Fail{"field \"steps\" must be an array"};
    for (size_t i = 0; i < j["steps"].size(); ++i) {
      step_index = i;
      sc.steps.push_back(parse_step(j["steps"][i], i, names));
    }
    step_index.reset();
    if (j.contains("faults")) {
      if (!j["faults"].is_object())
        throw Fail{"field \"faults\" must be an object of site: probability"};
      for (const auto& [site, p] : j["faults"].items()) {
        if (!is_fault_site(site)) {
          std::string known;
          for (const auto& f : fault_sites())
            known += std::string(known.empty() ? "" : ", ") + f.name;
          throw Fail{"unknown fault site \"" + site + "\" (known: " + known + ")"};
        }
        if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
          throw Fail{"fault \"" + site + "\" must have a probability between 0 and 1"};
      }
      sc.faults = j["faults"];
    }
    return sc;
  } catch (const Fail& f) {
    return Status(Code::BadArguments, where(file, step_index) + ": " + f.msg);
  } catch (const json::exception& e) {
    return Status(Code::BadArguments, where(file, step_index) + ": " + e.what());
  }
}

Result<Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::BadArguments, path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  auto j = parse_json(buf.str(), path);
  if (!j.is_ok()) return j.status();
  return parse_scenario(*j, path);
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
  return d;
}

}  // namespace fkemu
