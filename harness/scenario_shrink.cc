#include "harness/scenario_shrink.h"

#include <set>
#include <string>
#include <vector>

namespace fkemu {

using json = nlohmann::json;

ScenarioShrinkResult shrink_scenario(const Scenario& sc,
                                     const std::function<bool(const Scenario&)>& keep,
                                     size_t max_candidates) {
  ScenarioShrinkResult res;
  res.scenario = sc;
  res.steps_before = sc.steps.size();
  res.sessions_before = sc.sessions.size();
  json best = sc.source;
  // Offers `candidate`; true (and it becomes the best) if it loads and `keep` accepts it.
  auto attempt = [&](const json& candidate) {
    if (res.candidates >= max_candidates || candidate == best) return false;
    auto parsed = parse_scenario(candidate, sc.file);
    if (!parsed.is_ok()) return false;
    parsed->name = sc.name;
    ++res.candidates;
    if (!keep(*parsed)) return false;
    best = candidate;
    res.scenario = std::move(*parsed);
    return true;
  };
  auto steps = [&]() -> json& { return best["steps"]; };

  // 1. Runs of steps, ddmin style: chunks from halves down to single steps.
  for (size_t chunk = std::max<size_t>(1, steps().size() / 2); chunk >= 1; chunk /= 2) {
    for (size_t start = 0; start < steps().size();) {
      json c = best;
      auto& s = c["steps"];
      const size_t end = std::min(start + chunk, s.size());
      s.erase(s.begin() + static_cast<std::ptrdiff_t>(start),
              s.begin() + static_cast<std::ptrdiff_t>(end));
      if (!s.empty() && attempt(c)) continue;  // the same start now names later steps
      start += chunk;
    }
    if (chunk == 1) break;
  }
  // 2. Sessions, each with all its steps.
  for (size_t i = best["sessions"].size(); i-- > 0 && best["sessions"].size() > 1;) {
    if (i >= best["sessions"].size()) continue;
    json c = best;
    const std::string name = c["sessions"][i].get<std::string>();
    c["sessions"].erase(c["sessions"].begin() + static_cast<std::ptrdiff_t>(i));
    json kept = json::array();
    for (const auto& st : c["steps"])
      if (st.value("session", std::string()) != name) kept.push_back(st);
    c["steps"] = kept;
    if (!c["steps"].empty()) attempt(c);
  }
  // 3. Config entries and the description. (Not "faults": without its own fault probabilities
  //    the scenario explores differently, though a replay of its trace injects them anyway.)
  if (best.contains("config")) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : best["config"].items()) keys.push_back(k);
    for (const auto& k : keys) {
      json c = best;
      c["config"].erase(k);
      if (c["config"].empty()) c.erase("config");
      attempt(c);
    }
  }
  if (best.contains("description")) {
    json c = best;
    c.erase("description");
    attempt(c);
  }
  // 4. Simplify the steps that are left.
  for (size_t i = 0; i < steps().size(); ++i) {
    auto simplified = [&](auto edit) {
      json c = best;
      edit(c["steps"][i]);
      attempt(c);
    };
    const json st = steps()[i];
    if (st.contains("data_b64"))
      simplified([](json& s) {
        s.erase("data_b64");
        s["data"] = "";
      });
    if (st.contains("data") && st["data"] != "") simplified([](json& s) { s["data"] = ""; });
    if (st.contains("flags"))
      for (size_t f = st["flags"].size(); f-- > 0;)
        simplified([f](json& s) {
          if (!s.contains("flags") || f >= s["flags"].size()) return;
          s["flags"].erase(s["flags"].begin() + static_cast<std::ptrdiff_t>(f));
          if (s["flags"].empty()) s.erase("flags");
        });
    for (const char* field : {"watch", "version", "expect"})
      if (steps()[i].contains(field)) simplified([field](json& s) { s.erase(field); });
    if (st.contains("wait_ms") && st["wait_ms"].get<int64_t>() > 1)
      simplified([](json& s) { s["wait_ms"] = s["wait_ms"].get<int64_t>() / 2; });
  }
  res.steps_after = res.scenario.steps.size();
  res.sessions_after = res.scenario.sessions.size();
  return res;
}

}  // namespace fkemu
