// The pass in history order (harness/checker/checker_state.h says how the checker is laid
// out): at each invoke, what its session had seen (its last seen zxid, overall and of the
// op's node); each read judged against the node states of the replay (G3: never older than the
// session saw; G4: a state of the window [last seen, newest committed before the answer], the
// same exactly; G8: not the tree as before a close answered before the read); each failed write
// judged against the states it can have met (G1). Every read with watch:true leaves its
// registration, set at the states it can have seen.
#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "harness/checker/checker_state.h"

namespace fkemu::checker_detail {

namespace {

// What a read needs on its node, as ZooKeeper checks it: READ, READ or ADMIN for get_acl,
// nothing for exists.
int32_t read_permission(OpKind k) {
  return k == OpKind::GetAcl ? perm::kRead | perm::kAdmin : k == OpKind::Exists ? 0 : perm::kRead;
}

}  // namespace

using json = nlohmann::json;

namespace {

constexpr size_t kMaxStatesPerFailedWrite = 64;

struct Seen {
  int64_t z = 0;
  size_t line = kNoLine;
  void raise(int64_t v, size_t l) {
    if (v > z) {
      z = v;
      line = l;
    }
  }
};

}  // namespace

// The lines in history order: each invoke takes what its session had seen, each answer and
// event raises it, each read and failed write is judged.
void Checker::judge_in_history_order() {
  // The parents of created and deleted nodes first, so that every path has its id now.
  for (const Op& o : ops_) {
    if (o.committed() && o.kind == OpKind::Create) (void)parent_of(o.created);
    if (o.committed() && o.kind == OpKind::Delete) (void)parent_of(o.path);
  }
  std::vector<Seen> seen(sessions_.size());  // session
  PairTable<Seen> seen_node(sessions_.size(), paths_.size(), 2 * h_.size());
  const Seen none;
  for (const Role& role : roles_) {
    if (role.kind == Role::Invoke) {
      Op& o = ops_[role.index];
      const Seen& s = seen[o.session];
      const Seen* sn = seen_node.find(o.session, o.path);
      const Seen& n = sn ? *sn : none;
      o.seen = s.z;
      o.seen_line = s.line;
      o.seen_node = n.z;
      o.seen_node_line = n.line;
    } else if (role.kind == Role::Watch) {
      const WatchLine& w = watches_[role.index];
      seen[w.session].raise(w.zxid, w.line);
      seen_node.at(w.session, w.path).raise(w.zxid, w.line);
    } else {
      Op& o = ops_[role.index];
      const size_t i = o.answer;
      if (o.committed()) {
        o.reflects = o.zxid;
        seen[o.session].raise(o.zxid, i);
        const int path = o.kind == OpKind::Create ? o.created : o.path;
        // (A multi's nodes are not followed one by one; an add_watch changes no node.)
        if (o.kind == OpKind::Create || o.kind == OpKind::SetData || o.kind == OpKind::Delete)
          seen_node.at(o.session, path).raise(o.zxid, i);
        if (o.kind == OpKind::Create || o.kind == OpKind::Delete)
          seen_node.at(o.session, parent_of(path)).raise(o.zxid, i);
      } else if (is_read_op(o.kind)) {
        judge_read(static_cast<int>(role.index));
        if (o.reflects != kNone) {
          seen[o.session].raise(o.reflects, i);
          seen_node.at(o.session, o.path).raise(o.reflects, i);
        }
      } else if (is_write_op(o.kind) && !o.ok && is_tree_error(o.error)) {
        judge_failed_write(o);
      }
    }
  }
}

// G3, G4 and G8 for the read ops_[k]; sets its `reflects` and leaves its registration.
void Checker::judge_read(int k) {
  Op& o = ops_[k];
  const std::string& path = path_of(o.path);
  const std::string& session = name(o.session);
  if (!o.ok) {
    if (o.error == "BadArguments") {
      if (validate_client_path(path).is_ok())
        rep_.add("G4", op_path(o) + " answered BadArguments for a valid path", {session}, {o.id},
                 {}, {o.invoke, o.answer});
      return;
    }
    if (o.error == "NoAuth" && o.kind != OpKind::Exists) return judge_no_auth(o);
    if (o.error != "NoNode" || o.kind == OpKind::Exists) return;  // SessionExpired etc.: G8
  }
  const int64_t lo = o.seen;
  const int64_t hi = committed_bound(o.answer);
  const bool absent = !o.ok || (o.kind == OpKind::Exists && o.stat_null);
  Candidates valid;
  if (absent) {
    valid = absent_candidates(o.path, lo, hi);
    if (valid.empty()) {
      const bool node_stale = absent_candidates(o.path, o.seen_node, hi).empty();
      const bool ever = !absent_candidates(o.path, 0, hi).empty();
      if (ever && node_stale && o.seen_node_line != kNoLine) {
        rep_.add("G3",
                 "session " + session + " read " + path +
                     " as missing after it had seen it exist (zxid " + std::to_string(o.seen_node) +
                     "); it exists from then until the read",
                 {session}, {o.id}, {o.seen_node}, {o.invoke, o.answer, o.seen_node_line});
      } else {
        rep_.add("G4",
                 op_path(o) + " answered that the node is missing, but it exists at " +
                     "every zxid from the session's last seen " + std::to_string(lo) +
                     " to the newest committed " + std::to_string(hi),
                 {session}, {o.id}, {lo, hi}, {o.invoke, o.answer, o.seen_line});
      }
      add_registration(k, nearest_absent(o.path, lo));
      return;
    }
  } else {
    if (o.stat < 0) {
      rep_.add("G4", op_path(o) + " answered ok without a stat", {session}, {o.id}, {},
               {o.invoke, o.answer});
      return;
    }
    const Stat& got = stats_[o.stat];
    const int64_t from = std::max({got.czxid, got.mzxid, got.pzxid});
    const Timeline* t = timeline(o.path);
    int v = -1;
    if (t) {
      auto it = std::lower_bound(t->begin(), t->end(), from,
                                 [](const Version& x, int64_t z) { return x.from < z; });
      if (it != t->end() && it->from == from && it->exists && it->stat.czxid == got.czxid &&
          it->stat.mzxid == got.mzxid && it->stat.pzxid == got.pzxid) {
        v = static_cast<int>(it - t->begin());
        // A setACL changes no zxid of the node, only its aversion: the states after it share
        // these zxids, and the aversion tells them apart.
        for (int j = v + 1;
             j < static_cast<int>(t->size()) && (*t)[j].exists && (*t)[j].stat.czxid == got.czxid &&
             (*t)[j].stat.mzxid == got.mzxid && (*t)[j].stat.pzxid == got.pzxid;
             ++j)
          if ((*t)[j].stat.aversion == got.aversion) v = j;
      }
    }
    if (v < 0) {
      rep_.add("G4",
               op_path(o) + " answered a state that never existed: no state of " + path +
                   " has czxid " + std::to_string(got.czxid) + ", mzxid " +
                   std::to_string(got.mzxid) + ", pzxid " + std::to_string(got.pzxid),
               {session}, {o.id}, {got.czxid, got.mzxid, got.pzxid}, {o.invoke, o.answer});
      return;
    }
    const Version& x = (*t)[v];
    std::string diff = same_stat(got, x.stat) ? std::string() : stat_diff(got, x.stat);
    if (o.kind == OpKind::GetData && o.bytes != x.data)
      diff += std::string(diff.empty() ? "" : ", ") + "data differs";
    if (o.kind == OpKind::GetChildren && !children_match(o.children, path, x))
      diff += std::string(diff.empty() ? "" : ", ") + "children differ";
    const std::vector<Identity>& ids = identity_sets_[o.ids];
    // (Compared as sets: the order of the entries means nothing to ZooKeeper, and those an
    // `auth` entry expands to come in its hash set's order, fkemu's in the order they were added.)
    auto sorted = [](Acl a) {
      std::sort(a.begin(), a.end(), [](const AclEntry& e, const AclEntry& f) {
        return std::tie(e.scheme, e.id, e.perms) < std::tie(f.scheme, f.id, f.perms);
      });
      return a;
    };
    if (o.kind == OpKind::GetAcl &&
        (!o.acl || sorted(acl_of(*o.acl)) !=
                       sorted(acl_as_read(x.acl, acl_permits(x.acl, perm::kAdmin, ids)))))
      diff += std::string(diff.empty() ? "" : ", ") + "acl differs";
    const int32_t wanted = read_permission(o.kind);
    if (wanted != 0 && !acl_permits(x.acl, wanted, ids))
      diff += std::string(diff.empty() ? "" : ", ") +
              "the node's ACL does not let the session read it (ZooKeeper answers NoAuth)";
    if (!diff.empty()) {
      rep_.add("G4",
               op_path(o) + " answered a result that differs from ZooKeeper's state " +
                   "with the same zxids: " + diff,
               {session}, {o.id}, {x.from},
               {o.invoke, o.answer, x.commit >= 0 ? commits_[x.commit].answer : kNoLine});
      return;
    }
    const Candidate c{x.from, end_of(*t, v), v};
    if (ephemeral_after_close(o, *t, v)) {
      add_registration(k, Candidates(c));
      return;
    }
    if (c.a <= hi && c.b > lo) {
      valid.push_back(c);
    } else {
      if (c.b <= o.seen_node && o.seen_node_line != kNoLine) {
        rep_.add("G3",
                 "session " + session + " read " + path + " in a state that ended at zxid " +
                     std::to_string(c.b) + ", after it had seen the node at zxid " +
                     std::to_string(o.seen_node),
                 {session}, {o.id}, {c.a, c.b, o.seen_node},
                 {o.invoke, o.answer, o.seen_node_line});
      } else if (c.b <= lo) {
        rep_.add("G4",
                 op_path(o) + " answered a state that ended at zxid " + std::to_string(c.b) +
                     ", older than the session's last seen zxid " + std::to_string(lo),
                 {session}, {o.id}, {c.a, c.b, lo}, {o.invoke, o.answer, o.seen_line});
      } else {
        const size_t ck = commit_index(c.a);
        rep_.add("G4",
                 op_path(o) + " answered the state of zxid " + std::to_string(c.a) +
                     ", newer than every write invoked before the answer (up to zxid " +
                     std::to_string(hi) + ")",
                 {session}, {o.id}, {c.a, hi},
                 {o.invoke, o.answer, ck != kNoLine ? commits_[ck].invoke : kNoLine});
      }
      add_registration(k, Candidates(c));
      return;
    }
  }
  o.reflects = valid.front().a;
  for (const Candidate& c : valid) o.reflects = std::min(o.reflects, std::max(c.a, int64_t{0}));
  for (Candidate& c : valid) c.a = std::max(c.a, lo);  // any point in the window will do
  add_registration(k, valid);
}

// G4: a read answered NoAuth finds, at some state it can have met, the node there with an ACL
// that does not let its session (as it was when the read was invoked) do what the read needs.
void Checker::judge_no_auth(const Op& o) {
  const int64_t lo = o.seen;
  const int64_t hi = committed_bound(o.answer);
  const std::vector<Identity>& ids = identity_sets_[o.ids];
  const int32_t wanted = read_permission(o.kind);
  if (const Timeline* t = timeline(o.path)) {
    for (int k = std::max(0, version_at(*t, lo)); k < static_cast<int>(t->size()); ++k) {
      const Version& x = (*t)[k];
      if (x.from > hi) break;
      if (x.exists && !acl_permits(x.acl, wanted, ids)) return;
    }
  }
  rep_.add("G4",
           op_path(o) + " answered NoAuth, but at every state from zxid " + std::to_string(lo) +
               " to " + std::to_string(hi) +
               " the node is missing or its ACL lets the session read it",
           {name(o.session)}, {o.id}, {lo, hi}, {o.invoke, o.answer});
}

// Whether a get_children answer lists exactly the children of `x`, the state of `path` it
// names: distinct names, as many as numChildren, each a node at that zxid.
bool Checker::children_match(const json* ch, const std::string& path, const Version& x) const {
  // (no "children" member: none)
  if (ch && !ch->is_array()) return false;
  std::vector<std::string_view> names;
  if (ch) {
    names.reserve(ch->size());
    for (const auto& c : *ch) {
      if (!c.is_string()) return false;
      names.push_back(str(&c));
    }
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return false;
  if (static_cast<int32_t>(names.size()) != x.stat.num_children) return false;
  for (std::string_view n : names)
    if (!exists_at(child_path(path, n), x.from)) return false;
  return true;
}

// The registration of a read with watch:true, set at the state(s) the read can have seen. A
// read judged out of its window registers at the state it showed, so that its event is not
// reported a second time.
void Checker::add_registration(int k, const Candidates& candidates) {
  const Op& o = ops_[k];
  if (!o.watch || !o.ok || candidates.empty()) return;  // NoNode registers nothing
  Registration r;
  r.op = k;
  r.kind = o.kind == OpKind::GetChildren ? WatchKind::Child : WatchKind::Data;
  r.first = static_cast<uint32_t>(cands_.size());
  r.count = static_cast<uint32_t>(candidates.size());
  cands_.insert(cands_.end(), candidates.begin(), candidates.end());
  regs_.push_back(r);
}

NodeView Checker::view_at(const Timeline* t, int64_t z) const {
  NodeView v;
  if (!t) return v;
  const int k = version_at(*t, z);
  if (k < 0 || !(*t)[k].exists) return v;
  const Version& x = (*t)[k];
  v.exists = true;
  v.ephemeral_owner = x.stat.ephemeral_owner;
  v.version = x.stat.version;
  v.num_children = x.stat.num_children;
  v.child_creates = x.child_creates;
  v.aversion = x.stat.aversion;
  v.acl = x.acl;
  return v;
}
bool Checker::exists_at(std::string_view path, int64_t z) const {
  const Timeline* t = timeline_named(path);
  if (!t) return false;
  const int k = version_at(*t, z);
  return k >= 0 && (*t)[k].exists;
}

// Absent states of `path` that intersect [lo, hi], at most kMaxCandidates.
Candidates Checker::absent_candidates(int path, int64_t lo, int64_t hi) const {
  Candidates out;
  const Timeline* t = timeline(path);
  if (!t) {
    if (hi >= 0) out.push_back(Candidate{0, kInf, -1});
    return out;
  }
  const int n = static_cast<int>(t->size());
  auto next_absent = [&](int from) { return from < n ? (*t)[from].next_absent : -1; };
  const int k = version_at(*t, lo);
  int j;
  if (k < 0) {
    out.push_back(Candidate{0, (*t)[0].from, -1});
    j = next_absent(0);
  } else if (!(*t)[k].exists) {
    out.push_back(Candidate{(*t)[k].from, end_of(*t, k), k});
    j = next_absent(k + 1);
  } else {
    j = next_absent(k);
  }
  while (j >= 0 && (*t)[j].from <= hi && out.size() < kMaxCandidates) {
    out.push_back(Candidate{(*t)[j].from, end_of(*t, j), j});
    j = next_absent(j + 1);
  }
  return out;
}

// Absent states of `path` around a read that found none in its window: the last one before
// `lo` and those after it.
Candidates Checker::nearest_absent(int path, int64_t lo) const {
  const Timeline* t = timeline(path);
  if (!t) return absent_candidates(path, lo, kInf);
  int j = version_at(*t, lo);
  for (int steps = 0; j >= 0 && (*t)[j].exists && steps < 64; ++steps) --j;
  return absent_candidates(path, j >= 0 ? (*t)[j].from : 0, kInf);
}

// A read that shows a node as it was before its session's close deleted ephemerals, although
// the read came after that close was answered (or long after the session stopped answering).
bool Checker::ephemeral_after_close(const Op& o, const Timeline& t, int v) {
  if (v + 1 >= static_cast<int>(t.size())) return false;
  const int ck = t[v + 1].commit;
  if (ck < 0) return false;
  const Commit& c = commits_[ck];
  if (!c.close) return false;
  const bool after_answer = c.answer != kNoLine && o.invoke > c.answer;
  const int64_t expiry_deadline = c.expire_t == kNone ? kInf : deadline(c.expire_t, expiry_span());
  const bool after_deadline = line_t(o.invoke) > expiry_deadline;
  const bool seen_after = o.seen >= c.zxid;
  if (!after_answer && !after_deadline && !seen_after) return false;
  const std::string why = after_answer ? "after that close was answered"
                          : after_deadline
                              ? "later than expire + session timeout + 2 heartbeat periods"
                              : "after the session had seen zxid " + std::to_string(o.seen);
  rep_.add("G8",
           op_path(o) + " shows the node as it was before session " + name(c.session) +
               "'s close (zxid " + std::to_string(c.zxid) + ") deleted its ephemerals, " + why,
           {name(o.session), name(c.session)}, {o.id, c.op >= 0 ? ops_[c.op].id : kNone}, {c.zxid},
           {o.invoke, o.answer, c.answer, c.op >= 0 ? ops_[c.op].invoke : kNoLine,
            seen_after ? o.seen_line : kNoLine});
  return true;
}

// G1: a write answered with a tree error answers so at some state it can have met: from the
// later of the writes answered before its invoke and its session's last seen zxid, to the
// newest zxid whose writes were all invoked before its answer. At most kMaxStatesPerFailedWrite
// states are looked at; past that it is not judged.
void Checker::judge_failed_write(const Op& o) {
  const int64_t lo = std::max(o.answered_max, o.seen);
  const int64_t hi = std::max(lo, committed_bound(o.answer));
  ModelWrite& w = failed_write_;
  write_of(o, &w);
  auto answer_at = [&](int64_t z) {  // what the model answers at zxid z
    return ZooKeeperModel::check(
        w, [&](const std::string& p) { return view_at(timeline_named(p), z); });
  };
  // A refused multi names the operation that failed: the model's must be the same one.
  int failed_op = -1;
  auto answer_at_op = [&](int64_t z) {
    std::string e = ZooKeeperModel::check(
        w, [&](const std::string& p) { return view_at(timeline_named(p), z); }, nullptr,
        &failed_op);
    if (o.kind == OpKind::Multi && !e.empty() && failed_op != o.failed_op)
      e += " at operation " + std::to_string(failed_op);
    return e;
  };
  // Mostly it failed as it does at the oldest state it can have met, the first one below.
  const std::string at_lo = o.kind == OpKind::Multi ? answer_at_op(lo) : answer_at(lo);
  if (at_lo == o.error) return;
  std::vector<const Timeline*> nodes = {timeline(o.path)};
  auto with_parent = [&](const ModelWrite& x) {
    if (x.op == "create" && (x.sequential || x.path != "/"))
      nodes.push_back(timeline_named(parent_path(x.sequential ? x.path + "0" : x.path)));
    if (x.op == "delete" && x.path != "/") nodes.push_back(timeline_named(parent_path(x.path)));
  };
  if (o.kind == OpKind::Multi) {
    for (const ModelWrite& x : w.ops) {
      nodes.push_back(timeline_named(x.path));
      with_parent(x);
    }
  } else if (o.kind == OpKind::Create || o.kind == OpKind::Delete) {
    with_parent(w);  // (a delete's answer depends on its parent's ACL too)
  }
  // The states in [lo, hi] that differ for this write: lo and every change of its nodes.
  std::vector<int64_t> points = {lo};
  bool truncated = false;
  for (const Timeline* t : nodes)
    if (t) {
      auto b = std::upper_bound(t->begin(), t->end(), lo,
                                [](int64_t z, const Version& x) { return z < x.from; });
      for (auto it = b; it != t->end() && it->from <= hi; ++it) {
        if (points.size() > 2 * kMaxStatesPerFailedWrite) {
          truncated = true;
          break;
        }
        points.push_back(it->from);
      }
    }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  if (points.size() > kMaxStatesPerFailedWrite) {
    points.resize(kMaxStatesPerFailedWrite);
    truncated = true;
  }
  std::set<std::string> answers;
  for (int64_t z : points) {
    const std::string e = z == lo                   ? at_lo
                          : o.kind == OpKind::Multi ? answer_at_op(z)
                                                    : answer_at(z);
    if (e == o.error) return;
    answers.insert(e.empty() ? "ok" : e);
  }
  if (truncated) return;  // it may be one of the states not looked at
  std::string said;
  for (const auto& s : answers) said += (said.empty() ? "" : " or ") + s;
  const std::string answered =
      std::string(o.error) +
      (o.kind == OpKind::Multi ? " at operation " + std::to_string(o.failed_op) : "");
  rep_.add("G1",
           op_path(o) + " answered " + answered + ", but ZooKeeper answers " + said +
               " at every state from zxid " + std::to_string(lo) + " to " + std::to_string(hi),
           {name(o.session)}, {o.id}, {lo, hi}, {o.invoke, o.answer});
}

}  // namespace fkemu::checker_detail
