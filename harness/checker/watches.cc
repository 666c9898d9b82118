// The watches (harness/checker/checker_state.h says how the checker is laid out): every
// registration the reads left is replayed through ZooKeeperModel at each state it can have been
// set at, which says what each would fire and at which zxid; then the event lines are judged
// against them. G5: a session's events come in zxid order, each before any answer of its session
// that reflects its zxid or a later one; G6: each event line matches one registration of its
// session and path (same type, not before the first change after the read, at most one line per
// registration) and names a committed write invoked before it, and a session that stays open
// receives every event its registrations fire.
#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "harness/checker/checker_state.h"

namespace fkemu::checker_detail {

namespace {

// The model fires these four event types; a Fire keeps a view of the name, so it must outlive
// the model's result.
std::string_view event_name(const std::string& e) {
  for (std::string_view n :
       {"NodeCreated", "NodeDeleted", "NodeDataChanged", "NodeChildrenChanged"})
    if (e == n) return n;
  return "?";  // not reached: the model fires nothing else
}

// A registration's fire, with its group: the registration's session and path.
struct OpenFire {
  uint64_t group;
  std::string_view event;
  int64_t zxid;
  size_t reg;
};
bool fire_before(const OpenFire& x, const OpenFire& y) {
  if (x.group != y.group) return x.group < y.group;
  if (const int c = x.event.compare(y.event); c != 0) return c < 0;
  return x.zxid < y.zxid;
}

}  // namespace

// Each registration's candidate states are set in the model's watch table just before the first
// commit after them; what each fires, and at which zxid, goes to fires_.
void Checker::replay_watches() {
  struct Pending {
    int64_t at;
    size_t reg, cand;
  };
  std::vector<Pending> pending;
  for (size_t r = 0; r < regs_.size(); ++r)
    for (size_t c = 0; c < regs_[r].count; ++c)
      pending.push_back(Pending{candidates_of(regs_[r])[c].a, r, c});
  std::stable_sort(pending.begin(), pending.end(),
                   [](const Pending& x, const Pending& y) { return x.at < y.at; });
  fires_.assign(cands_.size(), Fire{});
  ZooKeeperModel m;
  Scratch scratch;
  size_t next = 0;
  auto add_until = [&](int64_t z) {  // registrations set at states before zxid z
    for (; next < pending.size() && pending[next].at < z; ++next) {
      const Registration& r = regs_[pending[next].reg];
      const Op& o = ops_[r.op];
      m.add_watch(name(o.session), path_of(o.path), r.kind,
                  static_cast<int64_t>(pending[next].reg * kMaxCandidates + pending[next].cand));
    }
  };
  for (const Commit& c : commits_) {
    add_until(c.zxid);
    // The identities that decide which sessions may receive the commit's events (those that
    // may READ the node): each session's as of the commit's answer.
    // (fkemu orders an addauth among the updates by the distributor's progress when it is
    // made: one invoked after the commit's answer comes after it, one answered before the
    // commit's invocation before it; one in between may be either.)
    for (size_t s = 0; s < id_changes_.size(); ++s)
      if (!id_changes_[s].empty()) {
        const int si = static_cast<int>(s);
        m.set_identities(name(si), identities_at(si, c.answer != kNoLine ? c.answer : c.invoke),
                         identities_answered_before(si, c.invoke));
      }
    const ModelWriteResult res = apply_commit(m, c, &scratch);
    for (const ModelEvent& e : res.events) {
      change_order_[{sessions_.find(e.session), c.zxid}].push_back(
          ChangeOrder{event_name(e.event), paths_.id(e.path), e.change});
      if (e.persistent) {
        const int op = static_cast<int>(e.registration - kPersistentIds);
        persistent_fires_.push_back(PersistentFire{ops_[op].session, paths_.id(e.path),
                                                   event_name(e.event), c.zxid, op, -1, e.certain});
        continue;
      }
      const Registration& r = regs_[e.registration / kMaxCandidates];
      Fire& f = fires_[r.first + e.registration % kMaxCandidates];
      f.fired = true;
      f.certain = e.certain;
      f.event = event_name(e.event);
      f.zxid = c.zxid;
    }
  }
}

// The first line from which session s is closing: its close or expire invoked, or an answer
// SessionExpired; kNoLine if none.
size_t Checker::closing_line(int s) const {
  size_t line = kNoLine;
  for (int k : ops_of(s)) {
    const Op& o = ops_[k];
    if (o.kind == OpKind::Close || o.kind == OpKind::Expire) line = std::min(line, o.invoke);
    if (o.answered() && o.error == "SessionExpired") line = std::min(line, o.answer);
  }
  return line;
}

void Checker::judge_watches() {
  judge_change_order();
  judge_event_lines();
  match_events();
  judge_registrations();
}

// G5: a session's events of one zxid (a multi's, or a create's node and parent) come in the order
// of the changes that fired them, as ZooKeeper applies a multi's operations and sends each
// change's events in turn (the events of one change may come in any order).
void Checker::judge_change_order() {
  std::map<std::pair<int, int64_t>, std::vector<size_t>> lines;  // (session, zxid) -> lines
  for (size_t k = 0; k < watches_.size(); ++k)
    lines[{watches_[k].session, watches_[k].zxid}].push_back(k);
  for (const auto& [key, ks] : lines) {
    if (ks.size() < 2) continue;
    auto it = change_order_.find(key);
    if (it == change_order_.end()) continue;
    std::vector<ChangeOrder> model = it->second;
    std::vector<bool> used(model.size(), false);
    int64_t at = INT64_MIN;
    size_t at_line = kNoLine;
    for (size_t k : ks) {
      const WatchLine& w = watches_[k];
      int pick = -1, earlier = -1;
      for (size_t j = 0; j < model.size(); ++j) {
        if (used[j] || model[j].event != w.event || model[j].path != w.path) continue;
        if (model[j].change >= at && (pick < 0 || model[j].change < model[pick].change))
          pick = static_cast<int>(j);
        if (model[j].change < at) earlier = static_cast<int>(j);
      }
      if (pick >= 0) {
        used[pick] = true;
        at = model[pick].change;
        at_line = w.line;
      } else if (earlier >= 0) {
        const WatchLine& before = watches_[ks.front()];
        rep_.add("G5",
                 "session " + name(w.session) + " recorded " + std::string(w.event) + " " +
                     path_of(w.path) + " after an event of a later change of the same zxid " +
                     std::to_string(w.zxid) + " (ZooKeeper sends a multi's changes in order)",
                 {name(w.session)}, {}, {w.zxid}, {before.line, at_line, w.line});
        break;
      }
    }
  }
}

// G5: events in zxid order per session; G6: each names a committed write invoked before it.
void Checker::judge_event_lines() {
  std::vector<size_t> last(sessions_.size(), kNoLine);
  for (size_t k = 0; k < watches_.size(); ++k) {
    const WatchLine& w = watches_[k];
    const std::string& session = name(w.session);
    const size_t l = last[w.session];
    if (l != kNoLine && w.zxid < watches_[l].zxid) {
      const WatchLine& p = watches_[l];
      rep_.add("G5",
               "session " + session + " recorded " + std::string(w.event) + " " + path_of(w.path) +
                   " (zxid " + std::to_string(w.zxid) + ") after " + std::string(p.event) + " " +
                   path_of(p.path) + " (zxid " + std::to_string(p.zxid) + ")",
               {session}, {}, {p.zxid, w.zxid}, {p.line, w.line});
    }
    if (l == kNoLine || w.zxid >= watches_[l].zxid) last[w.session] = k;
    // The event names a committed write that was invoked before it.
    const size_t c = commit_index(w.zxid);
    if (c == kNoLine) {
      rep_.add("G6",
               std::string(w.event) + " " + path_of(w.path) + " for session " + session +
                   " names zxid " + std::to_string(w.zxid) + ", which no committed write has",
               {session}, {}, {w.zxid}, {w.line});
    } else if (commits_[c].invoke > w.line) {
      const Commit& cm = commits_[c];
      rep_.add("G6",
               std::string(w.event) + " " + path_of(w.path) + " for session " + session +
                   " (zxid " + std::to_string(w.zxid) +
                   ") was recorded before that write was invoked",
               {session, name(cm.session)}, {cm.op >= 0 ? ops_[cm.op].id : kNone}, {w.zxid},
               {w.line, cm.invoke});
    }
  }
}

// G6: match every event line to a registration of its session and path (its group). The
// registrations of each group in registration order, and their fires sorted by (group, event,
// zxid), each run of equal keys in registration order.
void Checker::match_events() {
  std::vector<GroupReg> group_regs;
  std::vector<OpenFire> open;
  group_regs.reserve(regs_.size());
  open.reserve(fires_.size());
  for (size_t r = 0; r < regs_.size(); ++r) {
    const Op& o = ops_[regs_[r].op];
    const uint64_t group = pair_key(o.session, o.path);
    group_regs.push_back(GroupReg{group, r});
    for (const Fire& f : fires_of(regs_[r]))
      if (f.fired) open.push_back(OpenFire{group, f.event, f.zxid, r});
  }
  std::sort(group_regs.begin(), group_regs.end());
  std::stable_sort(open.begin(), open.end(), fire_before);
  // The persistent watches' events, by (session, path, event, zxid): each is one line's.
  std::map<std::tuple<int, int, std::string_view, int64_t>, std::vector<size_t>> persistent;
  for (size_t f = 0; f < persistent_fires_.size(); ++f) {
    const PersistentFire& p = persistent_fires_[f];
    persistent[{p.session, p.path, p.event, p.zxid}].push_back(f);
  }
  for (size_t k = 0; k < watches_.size(); ++k) {
    const WatchLine& w = watches_[k];
    if (auto it = persistent.find({w.session, w.path, w.event, w.zxid}); it != persistent.end()) {
      bool taken = false;
      for (size_t f : it->second) {
        PersistentFire& p = persistent_fires_[f];
        if (p.matched_line >= 0 || ops_[p.op].invoke > w.line) continue;
        p.matched_line = static_cast<int>(k);
        taken = true;
        break;
      }
      if (taken) continue;
    }
    const uint64_t group = pair_key(w.session, w.path);
    // The latest key (event, zxid) <= the line's, going back over its event's earlier zxids.
    int found = -1;
    size_t end =
        static_cast<size_t>(std::upper_bound(open.begin(), open.end(),
                                             OpenFire{group, w.event, w.zxid, 0}, fire_before) -
                            open.begin());
    while (end > 0 && open[end - 1].group == group && open[end - 1].event == w.event) {
      size_t begin = end - 1;  // the run of fires with the same key as open[end - 1]
      while (begin > 0 && !fire_before(open[begin - 1], open[end - 1])) --begin;
      // Among registrations waiting for this same zxid, the earliest.
      for (size_t j = begin; j < end && found < 0; ++j) {
        const Registration& r = regs_[open[j].reg];
        if (r.matched_line < 0 && ops_[r.op].invoke < w.line) found = static_cast<int>(open[j].reg);
      }
      if (found >= 0) break;
      end = begin;
    }
    if (found >= 0) {
      Registration& r = regs_[found];
      const std::span<const Fire> fires = fires_of(r);
      r.matched_line = static_cast<int>(k);
      for (size_t c = 0; c < fires.size(); ++c)
        if (fires[c].fired && fires[c].event == w.event && fires[c].zxid <= w.zxid &&
            (r.matched_candidate < 0 || fires[c].zxid > fires[r.matched_candidate].zxid))
          r.matched_candidate = static_cast<int>(c);
      continue;
    }
    const auto [lo, hi] =
        std::equal_range(group_regs.begin(), group_regs.end(), GroupReg{group, 0},
                         [](const GroupReg& x, const GroupReg& y) { return x.group < y.group; });
    diagnose_unmatched(w, std::span<const GroupReg>(lo, hi));
  }
}

// G5: the event of each registration before any answer reflecting its zxid; G6: it fired at all.
void Checker::judge_registrations() {
  std::vector<FirstAtLeast> reflect;
  std::vector<size_t> closing;
  // Per session, the zxid before which every event it is owed must be recorded: all of them if
  // it stays open; those before its close if it ends by a close it was answered (ZooKeeper
  // sends the events of every change before a close before the close's answer); none is
  // demanded of a session that expired, may have, or stopped answering (its connection may be
  // gone before they come).
  std::vector<int64_t> owed_below(sessions_.size(), kInf);
  reflect.reserve(sessions_.size());
  closing.reserve(sessions_.size());
  for (int s = 0; s < sessions_.size(); ++s) {
    const size_t cl = closing_line(s);
    closing.push_back(cl);
    std::vector<int64_t> v;
    v.reserve(ops_of(s).size());
    for (int k : ops_of(s)) {
      const Op& o = ops_[k];
      v.push_back(o.answered() && o.kind != OpKind::Close && o.answer < cl ? o.reflects : kNone);
    }
    reflect.emplace_back(v);
    bool expired = maybe_expired_[s];
    for (int k : ops_of(s)) {
      const Op& o = ops_[k];
      expired =
          expired || o.kind == OpKind::Expire || (o.answered() && o.error == "SessionExpired");
    }
    for (const SilentStop& stop : silent_stops_) expired = expired || stop.session == name(s);
    if (expired) {
      owed_below[s] = kNone;
    } else if (cl != kNoLine || close_zxid_[s] != kNone) {
      const size_t c = close_zxid_[s] == kNone ? kNoLine : commit_index(close_zxid_[s]);
      const bool answered_close = c != kNoLine && commits_[c].op >= 0 &&
                                  ops_[commits_[c].op].kind == OpKind::Close &&
                                  ops_[commits_[c].op].answered();
      owed_below[s] = answered_close ? close_zxid_[s] : kNone;
    }
  }
  // A persistent watch's events: each before any later answer that reflects its zxid (G5), and
  // every one delivered to a session that stays open (G6).
  for (const PersistentFire& p : persistent_fires_) {
    const Op& o = ops_[p.op];
    const WatchLine* w = p.matched_line >= 0 ? &watches_[p.matched_line] : nullptr;
    const Commit& cm = commits_.at(commit_index(p.zxid));
    const std::string what =
        std::string(p.event) + " " + path_of(p.path) + " (zxid " + std::to_string(p.zxid) + ", " +
        (cm.op >= 0 ? op_path(ops_[cm.op]) : "close of " + name(cm.session)) +
        ") of the persistent watch of id " + std::to_string(o.id) + " (" + op_path(o) + ")";
    if (const size_t j = reflect[o.session].find(o.seq + 1, p.zxid); j != kNoLine) {
      const Op& later = ops_[ops_of(o.session)[j]];
      if (!w || w->line > later.answer) {
        rep_.add("G5",
                 "session " + name(o.session) + " was owed " + what + ", but the answer to id " +
                     std::to_string(later.id) + " (" + op_path(later) + ") reflects zxid " +
                     std::to_string(later.reflects) +
                     (w ? " and came before the event" : " and no event came before it"),
                 {name(o.session)}, {o.id, later.id}, {p.zxid, later.reflects},
                 {o.answer, w ? w->line : kNoLine, later.invoke, later.answer, cm.answer});
        continue;
      }
    }
    if (!w && p.certain && p.zxid < owed_below[o.session])
      rep_.add("G6",
               "session " + name(o.session) + " never recorded " + what +
                   ", though the session was open until after it (a persistent watch fires on "
                   "every change)",
               {name(o.session)}, {o.id}, {p.zxid}, {o.invoke, o.answer, cm.answer});
  }
  for (const Registration& r : regs_) {
    const Op& o = ops_[r.op];
    const std::span<const Fire> fires = fires_of(r);
    int64_t z = kNone;
    if (r.matched_candidate >= 0) {
      z = fires[r.matched_candidate].zxid;
    } else {
      // No event line: the read may have been at any of its candidate states, and the one
      // whose change comes last is the explanation that asks least of the session (an
      // exists answered null may have seen the node before its create or after its delete).
      bool all = !fires.empty();
      int64_t zlast = kNone;
      for (const Fire& f : fires) {
        all = all && f.fired && f.certain;
        if (f.fired) zlast = std::max(zlast, f.zxid);
      }
      if (!all) continue;
      z = zlast;
    }
    const std::vector<int>& list = ops_of(o.session);
    const size_t j = reflect[o.session].find(o.seq + 1, z);
    const WatchLine* w = r.matched_line >= 0 ? &watches_[r.matched_line] : nullptr;
    const Commit& cm = commits_.at(commit_index(z));
    auto change = [&] {
      return "zxid " + std::to_string(z) + " (" +
             (cm.op >= 0 ? op_path(ops_[cm.op]) : "close of " + name(cm.session)) + ")";
    };
    const size_t event_line = w ? w->line : kNoLine;
    if (j != kNoLine) {
      const Op& later = ops_[list[j]];
      if (!w || w->line > later.answer) {
        rep_.add("G5",
                 "session " + name(o.session) + " holds the watch of id " + std::to_string(o.id) +
                     " (" + op_path(o) + "), triggered by " + change() + ", but the answer to id " +
                     std::to_string(later.id) + " (" + op_path(later) + ") reflects zxid " +
                     std::to_string(later.reflects) +
                     (w ? " and came before the event" : " and no event came before it"),
                 {name(o.session)}, {o.id, later.id}, {z, later.reflects},
                 {o.invoke, o.answer, event_line, later.invoke, later.answer, cm.answer});
        continue;
      }
    }
    if (!w && z < owed_below[o.session]) {
      rep_.add("G6",
               "the watch of id " + std::to_string(o.id) + " (" + op_path(o) + ", session " +
                   name(o.session) + ") never fired, though " + change() +
                   " triggers it and the session was open until after it",
               {name(o.session)}, {o.id}, {z}, {o.invoke, o.answer, cm.answer});
    }
  }
}

// `regs`: the registrations of the line's session and path, in registration order.
void Checker::diagnose_unmatched(const WatchLine& w, std::span<const GroupReg> regs) {
  // The likeliest explanation first: a registration this event would be with another type,
  // then one that fired already, then one it comes too early for.
  enum Why { WrongTypeHere, Duplicate, TooEarly, WrongType, Again, Nothing };
  Why best = Nothing;
  size_t best_reg = 0;
  const Fire* best_fire = nullptr;
  for (const GroupReg& gr : regs) {
    const size_t r = gr.reg;
    const Registration& g = regs_[r];
    if (ops_[g.op].invoke > w.line) continue;
    for (const Fire& f : fires_of(g)) {
      if (!f.fired) continue;
      Why why = Nothing;
      if (g.matched_line < 0 && f.event != w.event) {
        why = f.zxid == w.zxid ? WrongTypeHere : WrongType;
      } else if (g.matched_line >= 0 && f.event == w.event) {
        why = watches_[g.matched_line].zxid == w.zxid ? Duplicate : Again;
      } else if (g.matched_line < 0 && f.event == w.event && f.zxid > w.zxid) {
        why = TooEarly;
      }
      if (why < best) {
        best = why;
        best_reg = r;
        best_fire = &f;
      }
    }
  }
  const std::string& session = name(w.session);
  std::vector<size_t> lines = {w.line};
  std::vector<int64_t> ids;
  std::string why;
  const int64_t closed = close_zxid_[w.session];
  if (closed != kNone && closed <= w.zxid) {
    why = "the session was closed at zxid " + std::to_string(closed) +
          "; a closed session has no watches (nor gets events for its own ephemerals)";
    if (const size_t c = commit_index(closed); c != kNoLine) lines.push_back(commits_[c].answer);
  } else if (best != Nothing) {
    const Registration& g = regs_[best_reg];
    const Op& o = ops_[g.op];
    ids.push_back(o.id);
    lines.push_back(o.invoke);
    lines.push_back(o.answer);
    const std::string watch =
        "the watch of id " + std::to_string(o.id) + " (" + std::string(o.op) + ")";
    switch (best) {
      case WrongTypeHere:
      case WrongType:
        why = "wrong event type: " + watch + " fires " + std::string(best_fire->event) + " (zxid " +
              std::to_string(best_fire->zxid) + ")";
        break;
      case Duplicate:
      case Again:
        why = "a second event for " + watch + ", which had fired already";
        lines.push_back(watches_[g.matched_line].line);
        break;
      case TooEarly:
        why = "zxid " + std::to_string(w.zxid) + " is before the first change after " + watch +
              " was set (zxid " + std::to_string(best_fire->zxid) + ")";
        break;
      case Nothing:
        break;
    }
  } else {
    why = "no watch of this session on this path fires it";
  }
  rep_.add("G6",
           "session " + session + " recorded " + std::string(w.event) + " " + path_of(w.path) +
               " (zxid " + std::to_string(w.zxid) + "): " + why,
           {session}, ids, {w.zxid}, lines);
}

}  // namespace fkemu::checker_detail
