// The history checker (harness/checker.h says what it judges, and how).
//
// The passes, in order: parse; order checks (G2, G10); committed writes and inferred closes;
// the replay of the committed writes through ZooKeeperModel, which records every node's states
// (G1, G9); the pass in history order over reads and failed writes (G3, G4, G8, G1); the
// replay of the watch registrations through the model; the watch checks (G5, G6); the session
// checks (G8). Violations are reported in that order.
//
// Made for histories of a million lines, where the time goes to memory, not to arithmetic:
//   * The history's JSON is read once, by parse(), a batch of lines at a time (walking several
//     objects side by side lets the processor overlap their cache misses), into compact
//     records: an Op per invocation (with what its answer said, and its stat as a Stat), a
//     WatchLine per event. Strings are std::string_view into the history (which outlives the
//     check), data is copied once; later passes do not go back to the JSON (but for the
//     children of a get_children answer, and excerpts of violations).
//   * Session names and paths are interned to dense integer ids (Names): per-session and
//     per-node tables are vectors indexed by id, a (session, path) pair is one integer key, and
//     the hash tables (Names, FlatMap) are open-addressing arrays, not nodes allocated one by
//     one.
//   * Messages are built only when a violation is reported.
//
// This file holds the order of the passes and the search over placements of inferred closes;
// the passes are in harness/checker/ (harness/checker/checker_state.h lists the files).
#include "harness/checker.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness/checker/checker_state.h"

namespace fkemu {
namespace checker_detail {

void Reporter::add(std::string g, std::string msg, std::vector<std::string> sessions,
                   std::vector<int64_t> ids, std::vector<int64_t> zxids,
                   std::vector<size_t> lines) {
  Violation v;
  v.guarantee = std::move(g);
  v.message = std::move(msg);
  std::sort(sessions.begin(), sessions.end());
  sessions.erase(std::unique(sessions.begin(), sessions.end()), sessions.end());
  std::erase(sessions, std::string());
  v.sessions = std::move(sessions);
  auto uniq = [](std::vector<int64_t> x) {
    std::erase_if(x, [](int64_t z) { return z == kNone || z == kInf; });
    std::sort(x.begin(), x.end());
    x.erase(std::unique(x.begin(), x.end()), x.end());
    return x;
  };
  v.ids = uniq(std::move(ids));
  v.zxids = uniq(std::move(zxids));
  // The excerpt is in history order: the order in which a caller lists lines is free.
  std::erase(lines, kNoLine);
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  for (size_t l : lines)
    if (l < h_.size()) v.excerpt.push_back(h_[l]);
  out_.push_back(std::move(v));
}

std::vector<Violation> Checker::run() {
  parse();
  for (const SilentStop& st : silent_stops_) {
    const int s = sessions_.find(st.session);
    if (s < 0) continue;  // a session with nothing in the history
    if (s >= static_cast<int>(silent_.size())) silent_.resize(static_cast<size_t>(s) + 1);
    silent_[static_cast<size_t>(s)].push_back(st.t);
  }
  for (auto& v : silent_) std::sort(v.begin(), v.end());
  order_checks();
  collect_commits();
  infer_closes();
  build_commits();
  replay_writes();
  judge_in_history_order();
  replay_watches();
  judge_watches();
  judge_sessions();
  return rep_.take();
}

}  // namespace checker_detail

std::vector<Violation> check_history(const Scenario& sc, const std::vector<nlohmann::json>& history,
                                     const std::vector<SilentStop>& silent,
                                     const std::vector<FaultWindow>& faults) {
  using checker_detail::Checker;
  using checker_detail::kNone;
  Checker first(sc, history, silent, faults);
  std::vector<Violation> found = first.run();
  if (found.empty()) return found;
  // The history shows no close of an expired session; the evidence placed them. A history is
  // valid if any placement explains it: try the others (a bounded number), and report what
  // the evidence-based one found only if none does.
  const auto options = first.close_options();
  if (options.empty()) return found;
  constexpr size_t kMaxPlacements = 512;
  std::vector<size_t> at(options.size(), 0);
  std::map<std::string, int64_t> forced;
  for (size_t tried = 0; tried < kMaxPlacements;) {
    std::set<int64_t> used;
    bool distinct = true;
    for (size_t i = 0; i < options.size(); ++i) {
      const int64_t z = options[i].second[at[i]];
      forced[options[i].first] = z;
      if (z != kNone && !used.insert(z).second) distinct = false;
    }
    if (distinct) {
      ++tried;
      if (Checker(sc, history, silent, faults, &forced).run().empty()) return {};
    }
    size_t i = 0;  // the next placement, odometer order
    while (i < options.size() && ++at[i] == options[i].second.size()) at[i++] = 0;
    if (i == options.size()) break;
  }
  return found;
}

std::string violation_to_string(const Violation& v) {
  std::string s = v.guarantee;
  if (!v.sessions.empty()) {
    s += " session";
    for (const auto& x : v.sessions) s += " " + x;
  }
  if (!v.ids.empty()) {
    s += " ids";
    for (auto x : v.ids) s += " " + std::to_string(x);
  }
  if (!v.zxids.empty()) {
    s += " zxids";
    for (auto x : v.zxids) s += " " + std::to_string(x);
  }
  s += ": " + v.message;
  for (const auto& l : v.excerpt) s += "\n    " + l.dump();
  return s;
}

}  // namespace fkemu
