#include "harness/history_scale.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "harness/scenario_runner.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

json block_json() {
  auto step = [](const char* session, const char* op, const char* path) {
    return json{{"session", session}, {"op", op}, {"path", path}};
  };
  json steps = json::array();
  auto with = [](json s, const char* key, json value) {
    s[key] = std::move(value);
    return s;
  };
  steps.push_back(with(step("a", "exists", "/n0"), "watch", true));
  steps.push_back(with(step("a", "create", "/n0"), "data", "0"));
  steps.push_back(with(step("b", "get_data", "/n0"), "watch", true));
  steps.push_back(with(step("c", "get_children", "/n0"), "watch", true));
  steps.push_back(with(step("b", "exists", "/n0/k"), "watch", true));
  steps.push_back(with(step("a", "set_data", "/n0"), "data", "1"));
  steps.push_back(with(with(step("c", "set_data", "/n0"), "data", "2"), "version", 0));
  steps.push_back(
      with(with(step("c", "create", "/n0/s-"), "data", "s"), "flags", json::array({"sequential"})));
  steps.push_back(with(with(step("b", "create", "/n0/e-"), "data", "e"), "flags",
                       json::array({"sequential", "ephemeral"})));
  steps.push_back(with(step("a", "create", "/n0/k"), "data", "k"));
  steps.push_back(with(step("a", "create", "/n0/k"), "data", "again"));
  steps.push_back(with(step("c", "get_data", "/n0/k"), "watch", true));
  steps.push_back(with(step("b", "get_children", "/n0"), "watch", true));
  steps.push_back(step("a", "delete", "/n0"));
  steps.push_back(with(with(step("a", "set_data", "/n0/k"), "data", "k2"), "version", 0));
  steps.push_back(step("c", "exists", "/n0/k"));
  steps.push_back(step("a", "delete", "/n0/k"));
  steps.push_back(step("b", "get_data", "/n0/k"));
  steps.push_back(step("c", "get_children", "/n0"));
  steps.push_back(with(step("a", "set_data", "/n0"), "data", "3"));
  steps.push_back(step("b", "get_data", "/n0"));
  return json{{"name", "checker-scale-block"},
              {"description", "one block of the checker's scale history"},
              {"sessions", json::array({"a", "b", "c"})},
              {"steps", steps}};
}

void shift_stat(json& stat, int64_t dz) {
  if (!stat.is_object()) return;
  for (const char* f : {"czxid", "mzxid", "pzxid"})
    if (stat.contains(f)) stat[f] = stat[f].get<int64_t>() + dz;
}

std::string moved(const std::string& path, const std::string& to) {
  return path.starts_with("/n0") ? to + path.substr(3) : path;
}

}  // namespace

const Scenario& block_scenario() {
  static const Scenario sc = *parse_scenario(block_json());
  return sc;
}

const std::vector<json>& block_history() {
  static const std::vector<json> h = run_scenario(block_scenario()).history;
  return h;
}

std::vector<json> scaled_history(size_t lines) {
  const std::vector<json>& block = block_history();
  int64_t max_zxid = 0, max_id = 0, max_t = 0;
  for (const json& l : block) {
    max_zxid = std::max(max_zxid, l.value("zxid", int64_t{0}));
    max_id = std::max(max_id, l.value("id", int64_t{0}));
    max_t = std::max(max_t, l.value("t", int64_t{0}));
  }
  std::vector<json> out;
  out.reserve(lines + block.size());
  for (int64_t k = 0; out.size() < lines; ++k) {
    // zxid 1 is the block's first create; every copy gets a fresh range after it.
    const int64_t dz = k * max_zxid, did = k * max_id, dt = k * (max_t + 1000);
    const std::string node = "/n" + std::to_string(k);
    for (json l : block) {
      if (l.contains("zxid")) l["zxid"] = l["zxid"].get<int64_t>() + dz;
      if (l.contains("id")) l["id"] = l["id"].get<int64_t>() + did;
      if (l.contains("t")) l["t"] = l["t"].get<int64_t>() + dt;
      if (l.contains("path")) l["path"] = moved(l["path"].get<std::string>(), node);
      if (l.contains("stat")) shift_stat(l["stat"], dz);
      out.push_back(std::move(l));
    }
  }
  return out;
}

}  // namespace fkemu
