// The checker's state and the declaration of its passes: internal to the checker (callers use
// harness/checker.h, which says what it judges).
//
// The layout of harness/checker/, one file per pass over one shared state:
//   containers.h     Names, FlatMap, IdIndex, PairTable, FirstAtLeast: the small tables
//   history.h        the parsed records (Op, WatchLine, Role) and JSON reading without copies
//   checker_state.h  this file: the records of the later passes and the Checker class
//   history.cc       parse, and the order checks (G2, G10)
//   commits.cc       committed writes, their replay through the model and the node states it
//                    leaves (G1, G9)
//   sessions.cc      expiries and the closes they imply, where they go, and what a closed or
//                    expired session may still be answered (G8)
//   reads.cc         the pass in history order over reads and failed writes (G3, G4, G8, G1)
//   watches.cc       the watch registrations through the model, and their events (G5, G6)
// harness/checker.cc keeps the order of the passes (Checker::run) and check_history's search
// over other placements of inferred closes.
//
// Members called once per line, per node state or per zxid are defined in the class (inline),
// so that no hot loop calls across files; each pass's own helpers live in its file.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/model/path.h"
#include "harness/checker.h"
#include "harness/checker/containers.h"
#include "harness/checker/history.h"
#include "harness/scenario.h"
#include "harness/zookeeper_model.h"

namespace fkemu::checker_detail {

constexpr size_t kMaxCandidates = 4;  // states a read can have seen, the most kept

struct Fields;     // the members of a history line (history.cc)
class ShownZxids;  // the highest zxid shown before each line (sessions.cc)

// A write that committed, or a close inferred from an expiry.
struct Commit {
  int64_t zxid = 0;
  int op = -1;  // index into ops; -1: a close inferred from an expiry
  int session = -1;
  size_t invoke = 0;        // from this line on it may have committed
  size_t answer = kNoLine;  // by this line it surely had
  bool close = false;
  int64_t expire_t = kNone;  // inferred close after an expire step at this time
  bool certain = true;       // an answered close, or an inferred one that lines point at
};

// A node's state from zxid `from` on, until the next Version of its Timeline (its states in
// zxid order).
struct Version {
  int64_t from = 0;
  bool exists = false;
  Stat stat;
  std::string data;
  int64_t child_creates = 0;
  Acl acl;               // stored form
  int commit = -1;       // -1: the initial tree
  int next_absent = -1;  // first version at or after this one where the node is absent
};
using Timeline = std::vector<Version>;

// One state (or run of equal states) of a node: valid for zxids in [a, b).
struct Candidate {
  int64_t a = 0, b = kInf;
  int version = -1;  // -1: absent from the beginning
};

// At most kMaxCandidates candidates, held inline (a read allocates nothing for them).
class Candidates {
 public:
  Candidates() = default;
  explicit Candidates(const Candidate& c) { push_back(c); }
  void push_back(const Candidate& c) { at_[n_++] = c; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const Candidate& front() const { return at_[0]; }
  const Candidate& operator[](size_t k) const { return at_[k]; }
  Candidate* begin() { return at_.data(); }
  Candidate* end() { return at_.data() + n_; }
  const Candidate* begin() const { return at_.data(); }
  const Candidate* end() const { return at_.data() + n_; }

 private:
  std::array<Candidate, kMaxCandidates> at_{};
  size_t n_ = 0;
};

// What the model fired for one candidate state of a registration.
struct Fire {
  bool fired = false;
  std::string_view event;  // one of the model's event names
  int64_t zxid = 0;
  bool certain = true;  // delivered whatever identities the session had then (ModelEvent)
};

struct Registration {
  int op = 0;
  WatchKind kind = WatchKind::Data;
  // Its candidates and their fires: Checker::cands_ and fires_ [first, first + count).
  uint32_t first = 0, count = 0;
  int matched_line = -1;  // index into watch lines
  int matched_candidate = -1;
};

// An event a persistent watch (an add_watch) fires: its session must record it.
struct PersistentFire {
  int session = 0;
  int path = 0;
  std::string_view event;
  int64_t zxid = 0;
  int op = 0;  // the add_watch
  int matched_line = -1;
  bool certain = true;  // ModelEvent::certain
};
// Ids of add_watch registrations in the checker's models: this plus the add_watch's index in
// ops_ (one-shot registrations use registration * kMaxCandidates + candidate, far below).
constexpr int64_t kPersistentIds = int64_t{1} << 48;

// A session's first expiry (sessions.cc): a close by the heartbeat, to be placed at a zxid.
struct ExpiryCandidate {
  int session = -1;
  int64_t lb = 0;  // its close commits after this zxid
  // A line by which its close had committed (a SessionExpired answer, or the first line past
  // the time by which the expiry must have happened): writes invoked after it come later.
  size_t proof = kNoLine;
  size_t invoke = 0;
  int64_t expire_t = kNone;
  bool definite = false;
  bool assigned = false;
};

// The violations found, each with its excerpt of the history.
class Reporter {
 public:
  explicit Reporter(const std::vector<nlohmann::json>& h) : h_(h) {}
  // Records a violation; `lines` are the history lines that show it, in any order.
  void add(std::string g, std::string msg, std::vector<std::string> sessions,
           std::vector<int64_t> ids, std::vector<int64_t> zxids, std::vector<size_t> lines);
  std::vector<Violation> take() { return std::move(out_); }

 private:
  const std::vector<nlohmann::json>& h_;
  std::vector<Violation> out_;
};

// What the lines show of a zxid no answer names: the close of an expired session.
struct Evidence {
  std::vector<std::pair<size_t, int>> deleted;  // NodeDeleted watch lines (line, path)
  std::vector<std::pair<size_t, int>> stats;    // stats naming the zxid (line, path)
  // get_children answers whose pzxid is the zxid: (path, the children after it)
  std::vector<std::pair<int, const nlohmann::json*>> listings;
  size_t first = kNoLine;  // the earliest line that shows the zxid
};

// Whether stat_diff(got, want) is empty (it compares the ephemeral owners as "null" when unset).
inline bool same_stat(const Stat& got, const Stat& want) {
  const auto owner = [](const Stat& s) {
    return s.ephemeral_owner ? std::string_view(*s.ephemeral_owner) : std::string_view("null");
  };
  return got.czxid == want.czxid && got.mzxid == want.mzxid && got.pzxid == want.pzxid &&
         got.ctime == want.ctime && got.mtime == want.mtime && got.version == want.version &&
         got.cversion == want.cversion && got.aversion == want.aversion &&
         owner(got) == owner(want) && got.data_length == want.data_length &&
         got.num_children == want.num_children && got.ttl_ms == want.ttl_ms;
}
// The fields of `got` that differ from `want`: "version 2 (model 3), ...".
std::string stat_diff(const Stat& got, const Stat& want);

class Checker {
 public:
  // `forced`: where the closes of expired sessions are (session -> zxid, kNone: none), instead
  // of inferring them from the evidence.
  Checker(const Scenario& sc, const std::vector<nlohmann::json>& h,
          const std::vector<SilentStop>& silent, const std::vector<FaultWindow>& faults,
          const std::map<std::string, int64_t>* forced = nullptr)
      : sc_(sc), h_(h), rep_(h), silent_stops_(silent), faults_(faults), forced_(forced) {
    std::sort(faults_.begin(), faults_.end(),
              [](const FaultWindow& x, const FaultWindow& y) { return x.t < y.t; });
  }

  // Every pass, in order (harness/checker.cc); the violations in the order they were found.
  std::vector<Violation> run();

  // Where else each expiring session's close could be, for check_history's search: every zxid
  // above the session's lower bound that no committed write uses, up to the highest zxid the
  // history shows, then past all of them (one slot per expiring session, so that those closes
  // can come in any order); and no close at all if its expiry is not certain.
  std::vector<std::pair<std::string, std::vector<int64_t>>> close_options() const;

 private:
  // ---- helpers ---------------------------------------------------------------------------

  // How long after a session stops answering its expiry shows, at most, without faults: the
  // timeout, then up to a heartbeat period until a tick finds it overdue and half a period
  // for the ping it does not answer; another half period for the close to commit (and, under
  // the aws-2024 latency model, a second for the writer and distributor steps it takes).
  int64_t expiry_span() const {
    const int64_t processing = sc_.config.latency_model == "zero" ? 0 : 1000;
    return (sc_.config.session_timeout_ms + 2 * sc_.config.heartbeat_period_ms + processing) * 1000;
  }

  // The time by which something due `span` after `from` has happened: later by the bound of
  // every injected fault in effect in between (one that began before and may still hold the
  // service up, or one that began before the deadline it stretches).
  int64_t deadline(int64_t from, int64_t span) const {
    int64_t d = from + span;
    for (const FaultWindow& f : faults_)
      if (f.t <= d && f.t + f.bound > from) d += f.bound;
    return d;
  }

  int64_t line_t(size_t line) const { return line < h_.size() ? num(h_[line], "t") : 0; }

  const std::string& name(int session) const { return sessions_[session]; }
  const std::string& path_of(int path) const { return paths_[path]; }
  std::string op_path(const Op& o) const { return std::string(o.op) + " " + path_of(o.path); }

  // Per-session tables, grown to every session id.
  std::vector<int>& ops_of(int session) {
    if (static_cast<size_t>(session) >= session_ops_.size()) session_ops_.resize(session + 1);
    return session_ops_[session];
  }
  const std::vector<int>& ops_of(int session) const {
    static const std::vector<int> none;
    return static_cast<size_t>(session) < session_ops_.size() ? session_ops_[session] : none;
  }

  const Timeline* timeline(int path) const {
    if (path < 0 || static_cast<size_t>(path) >= timelines_.size()) return nullptr;
    const Timeline& t = timelines_[path];
    return t.empty() ? nullptr : &t;
  }
  const Timeline* timeline_named(std::string_view path) const {
    return timeline(paths_.find(path));
  }

  // The parent of a path (parent_path), interned, computed once per path.
  int parent_of(int path) {
    if (static_cast<size_t>(path) >= parents_.size()) parents_.resize(paths_.size(), -1);
    if (parents_[path] < 0) {
      const int p = paths_.id(parent_path(path_of(path)));
      parents_[path] = p;  // (interning may have grown paths_, not parents_)
    }
    return parents_[path];
  }

  // Index of the version in force at z, -1 when the node was absent since the beginning.
  static int version_at(const Timeline& t, int64_t z) {
    auto it = std::upper_bound(t.begin(), t.end(), z,
                               [](int64_t v, const Version& x) { return v < x.from; });
    return static_cast<int>(it - t.begin()) - 1;
  }
  static int64_t end_of(const Timeline& t, int k) {
    return k + 1 < static_cast<int>(t.size()) ? t[k + 1].from : kInf;
  }

  // The largest zxid z such that every write with zxid <= z was invoked before `line`.
  // (An inferred close "invoked" at a line began just before it: the silent stop of its session
  // came before the first line at its time. Other invokes are never answer lines.)
  int64_t committed_bound(size_t line) const {
    auto it = std::upper_bound(prefix_invoke_.begin(), prefix_invoke_.end(), line);
    const size_t k = static_cast<size_t>(it - prefix_invoke_.begin());
    return k == 0 ? 0 : commits_[k - 1].zxid;
  }

  // Index into commits_ of the commit with zxid z (zxids are unique there), kNoLine if none.
  size_t commit_index(int64_t z) const {
    auto it = std::lower_bound(commit_zxids_.begin(), commit_zxids_.end(), z);
    return it != commit_zxids_.end() && *it == z ? static_cast<size_t>(it - commit_zxids_.begin())
                                                 : kNoLine;
  }
  bool known_zxid(int64_t z) const {
    if (!known_bits_.empty()) {
      const uint64_t i = static_cast<uint64_t>(z) - static_cast<uint64_t>(known_zxids_.front());
      return i < known_bits_.size() && known_bits_[i];
    }
    return std::binary_search(known_zxids_.begin(), known_zxids_.end(), z);
  }

  // The op whose answer first raised answered_max_ to z.
  size_t answered_by(int64_t z) const {
    auto it = std::lower_bound(answered_by_zxid_.begin(), answered_by_zxid_.end(),
                               std::make_pair(z, size_t{0}));
    return it->second;
  }

  std::span<const Candidate> candidates_of(const Registration& r) const {
    return {cands_.data() + r.first, r.count};
  }
  std::span<const Fire> fires_of(const Registration& r) const {
    return {fires_.data() + r.first, r.count};
  }

  // ---- history.cc: parse, G2 and G10 ------------------------------------------------------

  void parse();
  void parse_line(size_t i, const Fields& f, Stat* stat);
  std::string_view bytes_of(const Fields& f);
  static void read_flags(const nlohmann::json* flags, bool* ephemeral, bool* sequential,
                         bool* container);
  int read_multi(const nlohmann::json* ops, const std::string& session);
  void order_checks();

  // ---- commits.cc: committed writes, their replay (G1, G9) ---------------------------------

  void collect_commits();
  void index_known_zxids();
  void collect_evidence();
  void build_commits();

  // Reused between writes: the model's form of the write and the created name the system
  // answered.
  struct Scratch {
    ModelWrite write;
    std::string observed;
  };
  void write_of(const Op& o, ModelWrite* w) const;
  ModelWriteResult apply_commit(ZooKeeperModel& m, const Commit& c, Scratch* s) const;

  void replay_writes();
  void check_multi_results(const Op& o, const ModelWriteResult& r);
  int changed_id(const Commit& c, const std::string& path);
  void snapshot(const ZooKeeperModel& m, int path, int64_t z, int commit);
  // Per parent node incarnation (its path and czxid): the last sequential suffix, and its line.
  using LastSuffix = std::map<std::pair<int, int64_t>, std::pair<int64_t, size_t>>;
  void check_sequential(const ZooKeeperModel& m, const Op& o, std::string_view got,
                        const std::string& want, size_t touched_line, LastSuffix* last_suffix);

  // ---- sessions.cc: expiries, inferred closes, G8 ------------------------------------------

  void infer_closes();
  void note_event_bounds();
  ShownZxids shown_zxids() const;
  void find_expiry(int s, const ShownZxids& shown);
  bool expiry_at_silent_stop(int s, size_t i, int64_t lb, const ShownZxids& shown,
                             size_t* next_stop);
  const Op* next_telling_liveness(int s, size_t from) const;
  bool settle_expiry(ExpiryCandidate* c, const Op* next, int64_t stopped_t) const;
  size_t first_line_at(int64_t t) const;
  bool tells_liveness(const Op& o) const;
  void assign_from_evidence();
  std::set<std::string> owners_of(const ZooKeeperModel& m, const Evidence& ev,
                                  const std::function<bool(const std::string&)>& may_close) const;
  void place_unshown_expiries();
  void assign_forced();
  void place_close(ExpiryCandidate& c, int64_t z, bool certain);
  void judge_sessions();

  // ---- reads.cc: pass 2, in history order (G3, G4, G8, G1) --------------------------------

  void judge_in_history_order();
  void judge_read(int k);
  bool children_match(const nlohmann::json* ch, const std::string& path, const Version& x) const;
  void add_registration(int k, const Candidates& candidates);
  NodeView view_at(const Timeline* t, int64_t z) const;
  bool exists_at(std::string_view path, int64_t z) const;
  Candidates absent_candidates(int path, int64_t lo, int64_t hi) const;
  Candidates nearest_absent(int path, int64_t lo) const;
  bool ephemeral_after_close(const Op& o, const Timeline& t, int v);
  void judge_failed_write(const Op& o);
  void judge_no_auth(const Op& o);

  // ---- watches.cc: the watches through the model, G5 and G6 --------------------------------

  // A registration with its group: the registration's session and path.
  struct GroupReg {
    uint64_t group;
    size_t reg;
    bool operator<(const GroupReg& y) const {
      return group != y.group ? group < y.group : reg < y.reg;
    }
  };
  void replay_watches();
  size_t closing_line(int s) const;
  void judge_watches();
  void judge_event_lines();
  void match_events();
  void judge_registrations();
  void judge_change_order();
  void diagnose_unmatched(const WatchLine& w, std::span<const GroupReg> regs);

  // ---- the state ---------------------------------------------------------------------------

  const Scenario& sc_;
  const std::vector<nlohmann::json>& h_;
  Reporter rep_;
  Names sessions_;            // the sessions of invocations and of watch lines
  Names paths_;               // every path the checker has met
  std::vector<int> parents_;  // path -> its parent path, -1 until asked
  std::vector<Op> ops_;
  std::vector<Stat> stats_;         // the stats of answers (Op::stat)
  std::deque<std::string> bytes_;   // the data of lines (Op::bytes)
  std::vector<ModelWrite> multis_;  // the operations of each multi (Op::multi)
  // Identities (add_auth): the sets sessions had (Op::ids; 0: none), each session's current
  // one while parsing, and per session the lines from which each of its sets holds.
  std::vector<std::vector<Identity>> identity_sets_ = {{}};
  std::vector<int> session_ids_;
  std::vector<std::vector<std::pair<size_t, int>>> id_changes_;
  // The identities of the add_auths of session s answered before line `line`.
  const std::vector<Identity>& identities_answered_before(int s, size_t line) const {
    int set = 0;
    if (static_cast<size_t>(s) < id_changes_.size())
      for (const auto& [from, k] : id_changes_[s])
        if (from <= line) {
          auto it = auth_answers_.find(from);
          if (it != auth_answers_.end() && it->second < line) set = k;
        }
    return identity_sets_[set];
  }
  std::map<size_t, size_t> auth_answers_;  // an add_auth's invoke line -> its answer line
  // The identities session s has from line `line` on.
  const std::vector<Identity>& identities_at(int s, size_t line) const {
    int set = 0;
    if (static_cast<size_t>(s) < id_changes_.size())
      for (const auto& [from, k] : id_changes_[s])
        if (from <= line) set = k;
    return identity_sets_[set];
  }
  IdIndex by_id_;
  std::vector<std::vector<int>> session_ops_;  // session -> its invocations, in order
  const std::vector<SilentStop>& silent_stops_;
  std::vector<FaultWindow> faults_;  // by time
  const std::map<std::string, int64_t>* forced_;

  std::vector<int64_t> event_lb_;  // session -> the highest zxid of its watch events

  std::vector<std::vector<int64_t>> silent_;  // session id -> silent stop times, sorted
  std::vector<int> session_order_;            // sessions by first invocation
  std::vector<bool> in_order_;                // session -> in session_order_ (parse)
  std::vector<int> by_name_;                  // every session, by name
  std::vector<WatchLine> watches_;
  std::vector<Role> roles_;  // the lines of ops and watches, in history order
  int64_t answered_max_ = 0;
  // Each new highest zxid of an answered write, with its op: zxids increase.
  std::vector<std::pair<int64_t, size_t>> answered_by_zxid_;
  int64_t last_t_ = 0;

  std::vector<int> known_;            // committed ops, zxid order
  std::vector<int64_t> known_zxids_;  // their zxids
  std::vector<bool> known_bits_;      // known_zxids_ as a bitmap from its first, if not sparse
  // Session -> its highest committed zxid, 0 if none (only compared with zxids above 0).
  std::vector<int64_t> last_commit_;
  std::map<int64_t, Evidence> unknown_;
  std::vector<ExpiryCandidate> expiry_;
  std::vector<Commit> inferred_;
  std::vector<bool> maybe_expired_;    // session -> an expiry no close was placed for
  std::vector<Commit> commits_;        // everything that committed, zxid order
  std::vector<int64_t> commit_zxids_;  // their zxids
  std::vector<size_t> prefix_invoke_;
  std::vector<int64_t> close_zxid_;     // session -> its first close, kNone if none
  std::vector<int64_t> certain_close_;  // the same, where it is not a guess

  std::vector<Timeline> timelines_;  // path -> its states
  ModelWrite failed_write_;          // judge_failed_write's, reused
  std::vector<Registration> regs_;
  std::vector<Candidate> cands_;                  // the registrations' candidate states
  std::vector<Fire> fires_;                       // what the model fired for each of them
  std::vector<PersistentFire> persistent_fires_;  // in commit order
  // The model's events per (session, zxid), in the order of their changes.
  struct ChangeOrder {
    std::string_view event;
    int path;
    int64_t change;
  };
  std::map<std::pair<int, int64_t>, std::vector<ChangeOrder>> change_order_;
};

}  // namespace fkemu::checker_detail
