// Sessions and their ends (harness/checker/checker_state.h says how the checker is laid out).
// A session closed by the heartbeat (an expire step, a silent stop, a SessionExpired answer
// nobody asked for) has no answer with a zxid: its close is inferred, at a zxid that lines show
// but no answer names (watch events, stats; the owner of the ephemerals it deleted), else placed
// at the first zxid no write uses; check_history tries the other places (close_options) when the
// first placement shows violations. Then G8: what a closed or expired session is answered.
#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness/checker/checker_state.h"

namespace fkemu::checker_detail {

namespace {

// Whether an answer says its session was gone: SessionExpired, or a close answered ok that
// committed nothing.
bool expired_by(const Op& o) {
  return o.answered() &&
         (o.error == "SessionExpired" || (o.kind == OpKind::Close && o.ok && !o.committed()));
}

}  // namespace

// The highest zxid shown by the lines before each line: an expiry that began at a line commits
// its close after every zxid shown before it (zxids are handed out in order).
class ShownZxids {
 public:
  // `shown`: (line, a zxid it shows), in any order.
  explicit ShownZxids(std::vector<std::pair<size_t, int64_t>> shown) : shown_(std::move(shown)) {
    std::sort(shown_.begin(), shown_.end());
    for (size_t k = 1; k < shown_.size(); ++k)
      shown_[k].second = std::max(shown_[k].second, shown_[k - 1].second);
  }
  int64_t before(size_t line) const {
    auto it = std::lower_bound(shown_.begin(), shown_.end(), std::make_pair(line, kNone));
    return it == shown_.begin() ? 0 : std::prev(it)->second;
  }

 private:
  std::vector<std::pair<size_t, int64_t>> shown_;  // by line, each with the highest zxid so far
};

// Sessions closed by the heartbeat have no answer with a zxid: each session's first expiry
// becomes a candidate (expiry_), then the closes are placed, from the evidence or as forced.
void Checker::infer_closes() {
  note_event_bounds();
  const ShownZxids shown = shown_zxids();
  for (int s : session_order_) find_expiry(s, shown);
  if (forced_) {
    assign_forced();
  } else {
    assign_from_evidence();
  }
}

// A session that recorded an event for zxid z still had its watches at z: its close came later
// (the close removes them first, ZooKeeper's and FaaSKeeper's alike).
void Checker::note_event_bounds() {
  event_lb_.assign(sessions_.size(), 0);
  for (const WatchLine& w : watches_)
    event_lb_[static_cast<size_t>(w.session)] =
        std::max(event_lb_[static_cast<size_t>(w.session)], w.zxid);
}

ShownZxids Checker::shown_zxids() const {
  std::vector<std::pair<size_t, int64_t>> shown;
  shown.reserve(watches_.size() + ops_.size());
  for (const WatchLine& w : watches_) shown.emplace_back(w.line, w.zxid);
  for (const Op& o : ops_) {
    if (!o.answered()) continue;
    if (o.committed()) shown.emplace_back(o.answer, o.zxid);
    if (o.stat >= 0) {
      const Stat& st = stats_[o.stat];
      shown.emplace_back(o.answer, std::max({st.czxid, st.mzxid, st.pzxid}));
    }
  }
  return ShownZxids(std::move(shown));
}

// Session s's first expiry, if it has one, as a candidate: a silent stop or an expire step it did
// not come back from, or an answer that says it was gone. Its close commits after the session's
// own writes before it; a committed close of its own ends the search.
void Checker::find_expiry(int s, const ShownZxids& shown) {
  const std::vector<int>& list = ops_of(s);
  int64_t lb = event_lb_[static_cast<size_t>(s)];
  size_t next_stop = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    if (expiry_at_silent_stop(s, i, lb, shown, &next_stop)) return;
    const Op& o = ops_[list[i]];
    if (o.kind == OpKind::Close && o.committed()) return;
    if (o.committed()) lb = std::max(lb, o.zxid);
    if (o.kind == OpKind::Expire && o.answered()) {
      ExpiryCandidate c;
      c.session = s;
      c.lb = std::max({lb, o.answered_max, shown.before(o.invoke)});
      c.invoke = o.invoke;
      c.expire_t = line_t(o.invoke);
      if (!settle_expiry(&c, next_telling_liveness(s, i + 1), c.expire_t)) continue;
      expiry_.push_back(c);
      return;
    }
    if (expired_by(o)) {
      ExpiryCandidate c;
      c.session = s;
      c.lb = lb;
      c.definite = true;
      c.proof = o.answer;
      expiry_.push_back(c);
      return;
    }
  }
  // After the last op nothing follows that a found expiry would settle.
  (void)expiry_at_silent_stop(s, list.size(), lb, shown, &next_stop);
}

// The silent stops of session s (injected faults the history does not show) before its i-th op
// (i == its op count: after its last), from *next_stop on, each judged as an expire step at its
// time; ops invoked at a stop's very time count as before it. True once one made a candidate.
bool Checker::expiry_at_silent_stop(int s, size_t i, int64_t lb, const ShownZxids& shown,
                                    size_t* next_stop) {
  if (static_cast<size_t>(s) >= silent_.size()) return false;
  const std::vector<int64_t>& stops = silent_[static_cast<size_t>(s)];
  const std::vector<int>& list = ops_of(s);
  while (*next_stop < stops.size() &&
         (i == list.size() || stops[*next_stop] < line_t(ops_[list[i]].invoke))) {
    const int64_t t = stops[(*next_stop)++];
    ExpiryCandidate c;
    c.session = s;
    c.invoke = first_line_at(t);
    c.lb = std::max(lb, shown.before(c.invoke));
    // No expiry deadline: the faults of such a run may delay the heartbeat and the writer
    // queue (a lost delete holds the queue for a visibility timeout).
    c.expire_t = kNone;
    if (!settle_expiry(&c, next_telling_liveness(s, i), t)) continue;
    expiry_.push_back(c);
    return true;
  }
  return false;
}

// Session s's first op from its from-th on whose answer tells whether it was alive, or null.
const Op* Checker::next_telling_liveness(int s, size_t from) const {
  const std::vector<int>& list = ops_of(s);
  for (size_t j = from; j < list.size(); ++j)
    if (tells_liveness(ops_[list[j]])) return &ops_[list[j]];
  return nullptr;
}

// Candidate c stopped answering at `stopped_t`; `next` is its next op whose answer tells. False
// if the session came back (`next` was answered as a live session's). Else the expiry is certain
// if `next` says the session was gone (its answer proves it), or, with no such op, if the
// history runs past the time the expiry takes at most (the first line after that proves it).
bool Checker::settle_expiry(ExpiryCandidate* c, const Op* next, int64_t stopped_t) const {
  if (!next) {
    const int64_t by = deadline(stopped_t, expiry_span());
    c->definite = last_t_ > by;
    if (c->definite) c->proof = first_line_at(by);
    return true;
  }
  if (!expired_by(*next)) return false;
  c->definite = true;
  c->proof = next->answer;
  return true;
}

// The first line at or after virtual time t. Lines are not always in time order (a
// sequential step's events are recorded session by session once the step is over), so this
// looks at them one by one; it is asked only about expiries.
size_t Checker::first_line_at(int64_t t) const {
  for (size_t i = 0; i < h_.size(); ++i)
    if (line_t(i) >= t) return i;
  return h_.size();
}

// Whether an op's answer says anything about its session being alive: an expire step does
// not, nor an answer the client gave without asking the service (BadArguments,
// MarshallingError, an add_auth), nor one never given.
bool Checker::tells_liveness(const Op& o) const {
  return o.kind != OpKind::Expire && o.kind != OpKind::AddAuth && o.answered() &&
         (o.ok || !is_client_side_error(o.error));
}

// The closes of expired sessions, from what the lines show: at each zxid no answer names,
// whose close it was; then the definite expiries nothing showed.
void Checker::assign_from_evidence() {
  // Replay the known writes; at each zxid no answer names, find whose close it was. (The
  // writes after the last such zxid decide nothing here, so the replay stops there.)
  ZooKeeperModel m;
  Scratch scratch;
  std::vector<std::vector<size_t>> expiry_of(sessions_.size());  // session -> its candidates
  for (size_t k = 0; k < expiry_.size(); ++k)
    expiry_of[static_cast<size_t>(expiry_[k].session)].push_back(k);
  auto kit = known_.begin();
  auto uit = unknown_.begin();
  while (uit != unknown_.end()) {
    if (kit != known_.end() && ops_[*kit].zxid < uit->first) {
      Commit c;
      c.zxid = ops_[*kit].zxid;
      c.op = *kit;
      (void)apply_commit(m, c, &scratch);  // replayed for the state; judged elsewhere
      ++kit;
      continue;
    }
    const int64_t u = uit->first;
    const Evidence& ev = uit->second;
    ++uit;
    // A candidate whose expiry began after a line that shows u cannot be u's close.
    auto fits = [&](const ExpiryCandidate& c) { return !c.assigned && c.invoke <= ev.first; };
    auto may_close = [&](const std::string& s) {
      const int id = sessions_.find(s);
      if (m.closed(s) || (id >= 0 && last_commit_[id] >= u)) return false;
      if (id >= 0 && event_lb_[static_cast<size_t>(id)] >= u) return false;
      if (id < 0 || static_cast<size_t>(id) >= expiry_of.size()) return true;
      bool any = false;  // a session with expiry candidates closes only through one that fits
      for (size_t k : expiry_of[static_cast<size_t>(id)]) {
        const ExpiryCandidate& c = expiry_[k];
        if (c.assigned) continue;
        if (fits(c)) return true;
        any = true;
      }
      return !any;
    };
    const std::set<std::string> owners = owners_of(m, ev, may_close);
    int who = -1;
    ExpiryCandidate* cand = nullptr;
    for (auto& c : expiry_)
      if (fits(c) && owners.count(name(c.session))) {
        cand = &c;
        break;
      }
    if (cand) {
      who = cand->session;
    } else if (!owners.empty()) {
      who = sessions_.id(*owners.begin());
    } else {
      for (auto& c : expiry_)
        if (fits(c) && c.lb < u && may_close(name(c.session))) {
          cand = &c;
          who = c.session;
          break;
        }
    }
    // (An empty name is no one: unexplained, reads showing it will not match the model.)
    if (who < 0 || name(who).empty()) continue;
    if (!cand)
      for (auto& c : expiry_)
        if (c.session == who && fits(c)) cand = &c;
    (void)m.close_session(name(who), u);  // the state after the close is what is wanted
    Commit c;
    c.zxid = u;
    c.session = who;
    c.close = true;
    c.certain = owners.count(name(who)) > 0;
    if (cand) {
      cand->assigned = true;
      c.invoke = cand->invoke;
      c.expire_t = cand->expire_t;
    }
    inferred_.push_back(c);
  }
  place_unshown_expiries();
  maybe_expired_.assign(sessions_.size(), false);
  for (const auto& c : expiry_)
    if (!c.assigned) maybe_expired_[c.session] = true;
}

// The sessions whose close deleted ephemerals at a zxid, by `ev`, the lines that show it, in
// `m`, the tree just before it; `may_close` says who can have closed then. A NodeDeleted event
// names an ephemeral it deleted; else a listing of children right after it names exactly those
// that are left; else a stat of a parent it changed names the parent only (any ephemeral child
// that may close will do).
std::set<std::string> Checker::owners_of(
    const ZooKeeperModel& m, const Evidence& ev,
    const std::function<bool(const std::string&)>& may_close) const {
  std::set<std::string> owners;
  for (const auto& [line, path] : ev.deleted)
    if (const ModelNode* n = m.node(path_of(path)); n && n->stat.ephemeral_owner)
      if (may_close(*n->stat.ephemeral_owner)) owners.insert(*n->stat.ephemeral_owner);
  if (!owners.empty()) return owners;
  // Calls visit(name, owner) for each ephemeral child of `path` whose owner may close.
  auto closable_children = [&](int path, auto visit) {
    if (const ModelNode* n = m.node(path_of(path)))
      for (const std::string& child : n->children)
        if (const ModelNode* c = m.node(child_path(path_of(path), child));
            c && c->stat.ephemeral_owner && may_close(*c->stat.ephemeral_owner))
          visit(child, *c->stat.ephemeral_owner);
  };
  for (const auto& listing : ev.listings) {
    const auto& listed = listing.second;  // (a lambda may not capture a structured binding)
    closable_children(listing.first, [&](const std::string& child, const std::string& owner) {
      const auto is_child = [&](const nlohmann::json& x) { return x == child; };
      if (std::none_of(listed->begin(), listed->end(), is_child)) owners.insert(owner);
    });
  }
  if (!owners.empty() || !ev.listings.empty()) return owners;
  for (const auto& [line, path] : ev.stats)
    closable_children(path,
                      [&](const std::string&, const std::string& owner) { owners.insert(owner); });
  return owners;
}

// Each definite expiry nothing showed: its close at the first zxid above its lower bound that
// no write uses (a guess: check_history's search tries the others if it shows violations).
void Checker::place_unshown_expiries() {
  std::set<int64_t> taken;  // zxids given to such closes
  auto used = [&](int64_t z) { return known_zxid(z) || unknown_.count(z) || taken.count(z); };
  for (auto& c : expiry_) {
    if (c.assigned || !c.definite) continue;
    int64_t z = c.lb + 1;
    while (used(z)) ++z;
    taken.insert(z);
    place_close(c, z, false);
  }
}

// The closes as given (check_history's search over other explanations).
void Checker::assign_forced() {
  maybe_expired_.assign(sessions_.size(), false);
  for (auto& c : expiry_) {
    auto it = forced_->find(name(c.session));
    const int64_t z = it == forced_->end() ? kNone : it->second;
    if (z == kNone) {
      maybe_expired_[c.session] = true;
      continue;
    }
    // A placement under trial is judged in full: a placement that only passes because a
    // rule was not applied to it explains nothing.
    place_close(c, z, true);
  }
}

// Candidate `c`'s close, at zxid z. `certain`: judged as a close the history shows (G8's
// "no answer of the session shows a state at or after its close" applies to it).
void Checker::place_close(ExpiryCandidate& c, int64_t z, bool certain) {
  c.assigned = true;
  Commit k;
  k.zxid = z;
  k.session = c.session;
  k.close = true;
  k.certain = certain;
  k.invoke = c.invoke;
  k.expire_t = c.expire_t;
  inferred_.push_back(k);
}

std::vector<std::pair<std::string, std::vector<int64_t>>> Checker::close_options() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  int64_t top = known_zxids_.empty() ? 0 : known_zxids_.back();
  if (!unknown_.empty()) top = std::max(top, unknown_.rbegin()->first);
  for (const auto& c : expiry_) {
    std::vector<int64_t> zs;
    // Below every write invoked after the line that proves the close had committed.
    int64_t ub = kInf;
    if (c.proof != kNoLine)
      for (int k : known_)
        if (ops_[k].invoke > c.proof) ub = std::min(ub, ops_[k].zxid);
    for (int64_t z = std::max<int64_t>(c.lb + 1, 1); z <= top && z < ub; ++z)
      if (!known_zxid(z)) zs.push_back(z);
    // Past everything the history shows, in any order among themselves.
    if (ub == kInf)
      for (size_t k = 1; k <= expiry_.size(); ++k) zs.push_back(top + static_cast<int64_t>(k));
    if (!c.definite) zs.push_back(kNone);
    if (zs.empty()) {  // nothing fits: where the evidence put it (or nowhere), as judged
      int64_t placed = kNone;
      for (const Commit& k : inferred_)
        if (k.session == c.session) placed = k.zxid;
      zs.push_back(placed);
    }
    out.emplace_back(name(c.session), std::move(zs));
  }
  return out;
}

// G8: what a closed or expired session is answered.
void Checker::judge_sessions() {
  const int64_t grace = expiry_span();
  for (int s : session_order_) {
    const std::string& session = name(s);
    size_t since = kNoLine;  // the line from which the session is over
    std::string how;
    int64_t expire_deadline = kNone;
    for (const auto& c : inferred_)
      if (c.session == s && c.expire_t != kNone) expire_deadline = deadline(c.expire_t, grace);
    const int64_t cc = certain_close_[s];
    for (int k : ops_of(s)) {
      const Op& o = ops_[k];
      if (cc != kNone && o.ok && o.kind != OpKind::Close && o.kind != OpKind::Expire &&
          o.reflects != kNone && o.reflects >= cc && !o.committed()) {
        const Commit& c = commits_.at(commit_index(cc));
        rep_.add("G8",
                 "id " + std::to_string(o.id) + " (" + op_path(o) + ") of session " + session +
                     " was answered ok with a state of zxid " + std::to_string(o.reflects) +
                     ", after the session's close (zxid " + std::to_string(cc) +
                     "); it must answer SessionExpired",
                 {session}, {o.id}, {cc, o.reflects},
                 {o.invoke, o.answer, c.answer, c.op >= 0 ? ops_[c.op].invoke : kNoLine});
        break;
      }
      if (since == kNoLine && expire_deadline != kNone && line_t(o.invoke) > expire_deadline) {
        since = o.invoke;
        how = "its expiry (more than session timeout + 2 heartbeat periods after expire)";
      }
      if (since != kNoLine && o.invoke > since && o.answered() && o.kind != OpKind::Expire) {
        // (An add_auth asks the service nothing about the session: the client answers it.)
        const bool fine = o.kind == OpKind::AddAuth ? true
                          : o.kind == OpKind::Close ? o.ok && !o.committed()
                                                    : !o.ok && (o.error == "SessionExpired" ||
                                                                is_client_side_error(o.error));
        if (!fine) {
          rep_.add("G8",
                   "id " + std::to_string(o.id) + " (" + std::string(o.op) +
                       (path_of(o.path).empty() ? "" : " " + path_of(o.path)) + ") of session " +
                       session + " was answered " +
                       (o.ok ? std::string("ok") : std::string(o.error)) + " after " + how +
                       "; it must answer SessionExpired",
                   {session}, {o.id}, {o.zxid}, {since, o.invoke, o.answer});
          break;
        }
      }
      if (since == kNoLine && o.kind == OpKind::Close && o.committed()) {
        since = o.invoke;
        how = "its close";
      }
      if (since == kNoLine && o.answered() && o.error == "SessionExpired") {
        since = o.answer;
        how = "it was answered SessionExpired";
      }
    }
  }
}

}  // namespace fkemu::checker_detail
