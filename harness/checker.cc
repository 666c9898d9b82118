#include "harness/checker.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "harness/base64.h"
#include "harness/zookeeper_model.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
constexpr int64_t kInf = std::numeric_limits<int64_t>::max();
constexpr size_t kNoLine = std::numeric_limits<size_t>::max();
constexpr size_t kMaxStatesPerFailedWrite = 64;
constexpr size_t kMaxCandidates = 4;

bool is_write_op(const std::string& op) {
  return op == "create" || op == "set_data" || op == "delete" || op == "close";
}
bool is_read_op(const std::string& op) {
  return op == "get_data" || op == "exists" || op == "get_children";
}
// Errors the server decides from the tree (a failed write must be one the model gives).
bool is_tree_error(const std::string& e) {
  return e == "NoNode" || e == "NodeExists" || e == "NotEmpty" || e == "BadVersion" ||
         e == "NoChildrenForEphemerals" || e == "BadArguments";
}
// Errors a closed session may still get: the client refuses these before looking at it.
bool is_client_side_error(const std::string& e) {
  return e == "BadArguments" || e == "MarshallingError";
}

std::string key2(const std::string& a, const std::string& b) { return a + '\x1f' + b; }

std::string str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t num(const json& j, const char* k, int64_t dflt = 0) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : dflt;
}
std::string bytes_of(const json& j) {
  if (auto it = j.find("data"); it != j.end() && it->is_string()) return it->get<std::string>();
  if (auto it = j.find("data_b64"); it != j.end() && it->is_string())
    return base64_decode(it->get<std::string>()).value_or(std::string());
  return {};
}

// stat_from_json, tolerant of mistyped fields (a history under judgment may be anything).
Stat stat_of(const json& j) {
  Stat s;
  s.czxid = num(j, "czxid");
  s.mzxid = num(j, "mzxid");
  s.pzxid = num(j, "pzxid");
  s.ctime = num(j, "ctime");
  s.mtime = num(j, "mtime");
  s.version = static_cast<int32_t>(num(j, "version"));
  s.cversion = static_cast<int32_t>(num(j, "cversion"));
  s.aversion = static_cast<int32_t>(num(j, "aversion"));
  if (auto it = j.find("ephemeralOwner"); it != j.end() && it->is_string())
    s.ephemeral_owner = it->get<std::string>();
  s.data_length = static_cast<int32_t>(num(j, "dataLength"));
  s.num_children = static_cast<int32_t>(num(j, "numChildren"));
  return s;
}

std::string stat_diff(const Stat& got, const Stat& want) {
  std::ostringstream o;
  auto field = [&](const char* name, auto g, auto w) {
    if (g == w) return;
    if (o.tellp() > 0) o << ", ";
    o << name << " " << g << " (model " << w << ")";
  };
  field("czxid", got.czxid, want.czxid);
  field("mzxid", got.mzxid, want.mzxid);
  field("pzxid", got.pzxid, want.pzxid);
  field("ctime", got.ctime, want.ctime);
  field("mtime", got.mtime, want.mtime);
  field("version", got.version, want.version);
  field("cversion", got.cversion, want.cversion);
  field("aversion", got.aversion, want.aversion);
  field("ephemeralOwner", got.ephemeral_owner.value_or("null"),
        want.ephemeral_owner.value_or("null"));
  field("dataLength", got.data_length, want.data_length);
  field("numChildren", got.num_children, want.num_children);
  return o.str();
}

// ---- the history, parsed ------------------------------------------------------------------

struct Op {
  int64_t id = 0;
  std::string session, op, path, data;
  bool ephemeral = false, sequential = false, watch = false;
  int32_t version = -1;
  size_t invoke = 0;
  size_t answer = kNoLine;
  bool ok = false;
  std::string error;
  int64_t zxid = kNone;      // a committed write's zxid
  size_t seq = 0;            // position among its session's invocations
  int64_t answered_max = 0;  // highest write zxid answered before this invoke
  // Filled in history order (pass 2).
  int64_t seen = 0, seen_node = 0;  // the session's last seen zxid, and of this node
  size_t seen_line = kNoLine, seen_node_line = kNoLine;
  int64_t reflects = kNone;  // the oldest zxid the answer's state can be from
  bool answered() const { return answer != kNoLine; }
  bool committed() const { return zxid != kNone; }
};

struct WatchLine {
  size_t line;
  std::string session, event, path;
  int64_t zxid;
};

struct Commit {
  int64_t zxid = 0;
  int op = -1;  // index into ops; -1: a close inferred from an expiry
  std::string session;
  size_t invoke = 0;        // from this line on it may have committed
  size_t answer = kNoLine;  // by this line it surely had
  bool close = false;
  int64_t expire_t = kNone;  // inferred close after an expire step at this time
  bool certain = true;       // an answered close, or an inferred one that lines point at
};

struct Version {
  int64_t from = 0;
  bool exists = false;
  Stat stat;
  std::string data;
  int64_t child_creates = 0;
  int commit = -1;       // -1: the initial tree
  int next_absent = -1;  // first version at or after this one where the node is absent
};
using Timeline = std::vector<Version>;

// One state (or run of equal states) of a node: valid for zxids in [a, b).
struct Candidate {
  int64_t a = 0, b = kInf;
  int version = -1;  // -1: absent from the beginning
};

struct Registration {
  int op = 0;
  WatchKind kind = WatchKind::Data;
  std::vector<Candidate> candidates;
  struct Fire {
    bool fired = false;
    std::string event;
    int64_t zxid = 0;
  };
  std::vector<Fire> fires;  // per candidate, from the model
  int matched_line = -1;    // index into watch lines
  int matched_candidate = -1;
};

struct ExpiryCandidate {
  std::string session;
  int64_t lb = 0;  // its close commits after this zxid
  size_t invoke = 0;
  int64_t expire_t = kNone;
  bool definite = false;
  bool assigned = false;
};

class Reporter {
 public:
  explicit Reporter(const std::vector<json>& h) : h_(h) {}
  void add(std::string g, std::string msg, std::vector<std::string> sessions,
           std::vector<int64_t> ids, std::vector<int64_t> zxids, std::vector<size_t> lines) {
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
    std::erase(lines, kNoLine);
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    for (size_t l : lines)
      if (l < h_.size()) v.excerpt.push_back(h_[l]);
    out_.push_back(std::move(v));
  }
  std::vector<Violation> take() { return std::move(out_); }

 private:
  const std::vector<json>& h_;
  std::vector<Violation> out_;
};

// First index k >= from with value[k] >= z, over a fixed array (sparse table of maxima).
class FirstAtLeast {
 public:
  explicit FirstAtLeast(std::vector<int64_t> v) {
    const size_t n = v.size();
    levels_.push_back(std::move(v));
    for (size_t w = 1; 2 * w <= n; w *= 2) {
      const std::vector<int64_t>& prev = levels_.back();
      std::vector<int64_t> next(n - 2 * w + 1);
      for (size_t i = 0; i < next.size(); ++i) next[i] = std::max(prev[i], prev[i + w]);
      levels_.push_back(std::move(next));
    }
  }
  size_t find(size_t from, int64_t z) const {
    const size_t n = levels_[0].size();
    if (from >= n || max_of(from, n - 1) < z) return kNoLine;
    size_t lo = from, hi = n - 1;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if (max_of(from, mid) >= z) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

 private:
  int64_t max_of(size_t l, size_t r) const {  // inclusive
    const size_t k = static_cast<size_t>(std::bit_width(r - l + 1)) - 1;
    return std::max(levels_[k][l], levels_[k][r + 1 - (size_t{1} << k)]);
  }
  std::vector<std::vector<int64_t>> levels_;
};

class Checker {
 public:
  Checker(const Scenario& sc, const std::vector<json>& h) : sc_(sc), h_(h), rep_(h) {}

  std::vector<Violation> run() {
    parse();
    order_checks();
    collect_commits();
    infer_closes();
    replay_writes();
    judge_in_history_order();
    replay_watches();
    judge_watches();
    judge_sessions();
    return rep_.take();
  }

 private:
  // ---- helpers ---------------------------------------------------------------------------

  int64_t line_t(size_t line) const { return line < h_.size() ? num(h_[line], "t") : 0; }

  std::vector<size_t> lines_of(const Op& o) const { return {o.invoke, o.answer}; }

  ModelWrite write_of(const Op& o) const {
    ModelWrite w;
    w.op = o.op;
    w.session = o.session;
    w.path = o.path;
    w.data = o.data;
    w.ephemeral = o.ephemeral;
    w.sequential = o.sequential;
    w.version = o.version;
    return w;
  }

  const Timeline* timeline(const std::string& path) const {
    auto it = timelines_.find(path);
    return it == timelines_.end() ? nullptr : &it->second;
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

  NodeView view_at(const std::string& path, int64_t z) const {
    NodeView v;
    const Timeline* t = timeline(path);
    if (!t) return v;
    const int k = version_at(*t, z);
    if (k < 0 || !(*t)[k].exists) return v;
    const Version& x = (*t)[k];
    v.exists = true;
    v.ephemeral_owner = x.stat.ephemeral_owner;
    v.version = x.stat.version;
    v.num_children = x.stat.num_children;
    v.child_creates = x.child_creates;
    return v;
  }

  // Absent states of `path` that intersect [lo, hi], at most kMaxCandidates.
  std::vector<Candidate> absent_candidates(const std::string& path, int64_t lo, int64_t hi) const {
    std::vector<Candidate> out;
    const Timeline* t = timeline(path);
    if (!t || t->empty()) {
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

  // The largest zxid z such that every write with zxid <= z was invoked before `line`.
  int64_t committed_bound(size_t line) const {
    auto it = std::lower_bound(prefix_invoke_.begin(), prefix_invoke_.end(), line);
    const size_t k = static_cast<size_t>(it - prefix_invoke_.begin());
    return k == 0 ? 0 : commits_[k - 1].zxid;
  }

  // ---- pass 0: parse ---------------------------------------------------------------------

  void parse() {
    for (size_t i = 0; i < h_.size(); ++i) {
      const json& l = h_[i];
      if (!l.is_object()) continue;
      const std::string kind = str(l, "kind");
      if (kind == "invoke") {
        Op o;
        o.id = num(l, "id", -1);
        o.session = str(l, "session");
        o.op = str(l, "op");
        o.path = str(l, "path");
        o.data = bytes_of(l);
        if (auto it = l.find("flags"); it != l.end() && it->is_array())
          for (const auto& f : *it) {
            if (f == "ephemeral") o.ephemeral = true;
            if (f == "sequential") o.sequential = true;
          }
        o.watch = l.contains("watch") && l["watch"].is_boolean() && l["watch"].get<bool>();
        o.version = static_cast<int32_t>(num(l, "version", -1));
        o.invoke = i;
        o.answered_max = answered_max_;
        auto& sess = sessions_[o.session];
        o.seq = sess.size();
        if (by_id_.count(o.id)) {
          rep_.add("G2", "invocation id " + std::to_string(o.id) + " is used twice", {o.session},
                   {o.id}, {}, {ops_[by_id_[o.id]].invoke, i});
          continue;
        }
        by_id_[o.id] = ops_.size();
        sess.push_back(static_cast<int>(ops_.size()));
        if (std::find(session_order_.begin(), session_order_.end(), o.session) ==
            session_order_.end())
          session_order_.push_back(o.session);
        ops_.push_back(std::move(o));
      } else if (kind == "ok" || kind == "error") {
        auto it = by_id_.find(num(l, "id", -1));
        if (it == by_id_.end()) {
          rep_.add("G2",
                   "answer to id " + std::to_string(num(l, "id", -1)) + " that was never invoked",
                   {str(l, "session")}, {num(l, "id", -1)}, {}, {i});
          continue;
        }
        Op& o = ops_[it->second];
        if (o.answered()) {
          rep_.add("G2", "id " + std::to_string(o.id) + " is answered twice", {o.session}, {o.id},
                   {}, {o.invoke, o.answer, i});
          continue;
        }
        o.answer = i;
        o.ok = kind == "ok";
        o.error = str(l, "error");
        if (o.ok && is_write_op(o.op)) {
          if (l.contains("zxid") && l["zxid"].is_number_integer()) {
            o.zxid = l["zxid"].get<int64_t>();
          } else if (o.op == "create" && l.contains("stat") && l["stat"].is_object()) {
            o.zxid = num(l["stat"], "czxid", kNone);
          } else if (o.op == "set_data" && l.contains("stat") && l["stat"].is_object()) {
            o.zxid = num(l["stat"], "mzxid", kNone);
          } else if (o.op == "delete") {
            rep_.add("G1", "delete of " + o.path + " answered ok without the zxid of its update",
                     {o.session}, {o.id}, {}, lines_of(o));
          }
          if (o.committed()) {
            // Real time: every write answered before this one was invoked has a smaller zxid.
            if (o.answered_max > 0 && o.zxid <= o.answered_max) {
              const Op& before = ops_[answered_by_zxid_[o.answered_max]];
              rep_.add("G1",
                       o.op + " " + o.path + " got zxid " + std::to_string(o.zxid) +
                           ", not above zxid " + std::to_string(o.answered_max) + " of " +
                           before.op + " " + before.path + " (id " + std::to_string(before.id) +
                           "), answered before it was invoked",
                       {o.session, before.session}, {o.id, before.id}, {o.zxid, before.zxid},
                       {o.invoke, o.answer, before.answer});
            }
            if (o.zxid > answered_max_) {
              answered_max_ = o.zxid;
              answered_by_zxid_[o.zxid] = it->second;
            }
          }
        }
      } else if (kind == "watch") {
        watches_.push_back(
            WatchLine{i, str(l, "session"), str(l, "event"), str(l, "path"), num(l, "zxid")});
      }
    }
    last_t_ = h_.empty() ? 0 : line_t(h_.size() - 1);
  }

  // ---- G2 and G10 ------------------------------------------------------------------------

  void order_checks() {
    for (const auto& [name, list] : sessions_) {
      // Answers in invocation order.
      std::vector<int> answered;
      for (int k : list)
        if (ops_[k].answered()) answered.push_back(k);
      std::sort(answered.begin(), answered.end(),
                [&](int x, int y) { return ops_[x].answer < ops_[y].answer; });
      size_t next = 0;  // position in `list` of the oldest invocation not yet answered
      std::vector<bool> done(list.size(), false);
      std::vector<bool> reported(list.size(), false);
      for (int k : answered) {
        const Op& o = ops_[k];
        while (next < list.size() && done[next]) ++next;
        if (next < list.size() && next != o.seq && !reported[next]) {
          const Op& older = ops_[list[next]];
          if (older.invoke < o.invoke) {
            reported[next] = true;
            rep_.add("G2",
                     "session " + name + " got the answer to id " + std::to_string(o.id) + " (" +
                         o.op + ") before the answer to id " + std::to_string(older.id) + " (" +
                         older.op + "), which it invoked first",
                     {name}, {older.id, o.id}, {},
                     {older.invoke, o.invoke, o.answer, older.answer});
          }
        }
        done[o.seq] = true;
      }
      // Write zxids grow in issue order.
      int last = -1;
      for (int k : list) {
        const Op& o = ops_[k];
        if (!o.committed()) continue;
        if (last >= 0 && o.zxid <= ops_[last].zxid) {
          const Op& p = ops_[last];
          rep_.add("G2",
                   "session " + name + " issued " + p.op + " " + p.path + " (zxid " +
                       std::to_string(p.zxid) + ") before " + o.op + " " + o.path + " (zxid " +
                       std::to_string(o.zxid) + "), but they took effect in the other order",
                   {name}, {p.id, o.id}, {p.zxid, o.zxid},
                   {p.invoke, p.answer, o.invoke, o.answer});
        }
        if (last < 0 || o.zxid > ops_[last].zxid) last = k;
      }
    }
    for (const Op& o : ops_)
      if (!o.answered())
        rep_.add("G10",
                 "id " + std::to_string(o.id) + " (" + o.session + " " + o.op +
                     (o.path.empty() ? "" : " " + o.path) + ") was never answered",
                 {o.session}, {o.id}, {}, {o.invoke});
  }

  // ---- committed writes and inferred closes -----------------------------------------------

  void collect_commits() {
    std::vector<int> committed;
    for (size_t k = 0; k < ops_.size(); ++k)
      if (ops_[k].committed()) committed.push_back(static_cast<int>(k));
    std::sort(committed.begin(), committed.end(), [&](int x, int y) {
      return ops_[x].zxid != ops_[y].zxid ? ops_[x].zxid < ops_[y].zxid
                                          : ops_[x].answer < ops_[y].answer;
    });
    for (int k : committed) {
      Op& o = ops_[k];
      if (!known_.empty() && commits_by_zxid_.count(o.zxid)) {
        const Op& first = ops_[known_[commits_by_zxid_[o.zxid]]];
        rep_.add("G1",
                 "two writes committed with zxid " + std::to_string(o.zxid) + ": " + first.op +
                     " " + first.path + " (id " + std::to_string(first.id) + ") and " + o.op + " " +
                     o.path + " (id " + std::to_string(o.id) + ")",
                 {first.session, o.session}, {first.id, o.id}, {o.zxid}, {first.answer, o.answer});
        o.zxid = kNone;
        continue;
      }
      commits_by_zxid_[o.zxid] = known_.size();
      known_.push_back(k);
      last_commit_[o.session] = std::max(last_commit_[o.session], o.zxid);
    }

    // Zxids the history shows that no answer names: closes by the heartbeat.
    auto note = [&](int64_t z, size_t line, const std::string& path, bool deleted_watch) {
      if (z <= 0 || commits_by_zxid_.count(z)) return;
      auto& e = unknown_[z];
      if (deleted_watch) {
        e.deleted.emplace_back(line, path);
      } else {
        e.stats.emplace_back(line, path);
      }
    };
    for (const WatchLine& w : watches_) note(w.zxid, w.line, w.path, w.event == "NodeDeleted");
    for (const Op& o : ops_) {
      if (!o.ok || !o.answered()) continue;
      const json& a = h_[o.answer];
      auto it = a.find("stat");
      if (it == a.end() || !it->is_object()) continue;
      const std::string path = o.op == "create" ? str(a, "path") : o.path;
      for (const char* f : {"czxid", "mzxid", "pzxid"}) note(num(*it, f), o.answer, path, false);
    }
  }

  void infer_closes() {
    const int64_t grace = (sc_.config.session_timeout_ms + sc_.config.heartbeat_period_ms) * 1000;
    for (const std::string& name : session_order_) {
      const auto& list = sessions_[name];
      int64_t lb = 0;
      for (size_t i = 0; i < list.size(); ++i) {
        const Op& o = ops_[list[i]];
        if (o.op == "close" && o.committed()) break;
        if (o.committed()) lb = std::max(lb, o.zxid);
        const bool expired_answer = o.answered() && (o.error == "SessionExpired" ||
                                                     (o.op == "close" && o.ok && !o.committed()));
        if (o.op == "expire" && o.answered()) {
          const Op* next = nullptr;
          for (size_t j = i + 1; j < list.size() && !next; ++j)
            if (ops_[list[j]].op != "expire") next = &ops_[list[j]];
          ExpiryCandidate c;
          c.session = name;
          c.lb = std::max(lb, o.answered_max);
          c.invoke = o.invoke;
          c.expire_t = line_t(o.invoke);
          if (!next) {
            c.definite = last_t_ - c.expire_t > grace;
          } else if (next->answered() &&
                     (next->error == "SessionExpired" ||
                      (next->op == "close" && next->ok && !next->committed()))) {
            c.definite = true;
          } else {
            continue;  // it came back before it expired
          }
          expiry_.push_back(c);
          break;
        }
        if (expired_answer) {
          ExpiryCandidate c;
          c.session = name;
          c.lb = lb;
          c.definite = true;
          expiry_.push_back(c);
          break;
        }
      }
    }

    // Replay the known writes; at each zxid no answer names, find whose close it was.
    ZooKeeperModel m;
    auto kit = known_.begin();
    auto uit = unknown_.begin();
    while (kit != known_.end() || uit != unknown_.end()) {
      if (uit == unknown_.end() || (kit != known_.end() && ops_[*kit].zxid < uit->first)) {
        Commit c;
        c.zxid = ops_[*kit].zxid;
        c.op = *kit;
        (void)apply_commit(m, c);
        ++kit;
        continue;
      }
      const int64_t u = uit->first;
      const Evidence& ev = uit->second;
      ++uit;
      auto may_close = [&](const std::string& s) {
        auto lc = last_commit_.find(s);
        return !m.closed(s) && (lc == last_commit_.end() || lc->second < u);
      };
      std::set<std::string> owners;
      for (const auto& [line, path] : ev.deleted)
        if (const ModelNode* n = m.node(path); n && n->stat.ephemeral_owner)
          if (may_close(*n->stat.ephemeral_owner)) owners.insert(*n->stat.ephemeral_owner);
      if (owners.empty())
        for (const auto& [line, path] : ev.stats)
          if (const ModelNode* n = m.node(path))
            for (const std::string& child : n->children)
              if (const ModelNode* c = m.node(child_path(path, child));
                  c && c->stat.ephemeral_owner && may_close(*c->stat.ephemeral_owner))
                owners.insert(*c->stat.ephemeral_owner);
      std::string who;
      ExpiryCandidate* cand = nullptr;
      for (auto& c : expiry_)
        if (!c.assigned && owners.count(c.session)) {
          cand = &c;
          break;
        }
      if (cand) {
        who = cand->session;
      } else if (!owners.empty()) {
        who = *owners.begin();
      } else {
        for (auto& c : expiry_)
          if (!c.assigned && c.lb < u && may_close(c.session)) {
            cand = &c;
            who = c.session;
            break;
          }
      }
      if (who.empty()) continue;  // unexplained: reads showing it will not match the model
      if (!cand)
        for (auto& c : expiry_)
          if (c.session == who && !c.assigned) cand = &c;
      (void)m.close_session(who, u);
      Commit c;
      c.zxid = u;
      c.session = who;
      c.close = true;
      c.certain = owners.count(who) > 0;
      if (cand) {
        cand->assigned = true;
        c.invoke = cand->invoke;
        c.expire_t = cand->expire_t;
      }
      inferred_.push_back(c);
    }
    // A definite expiry nothing showed: at the first zxid no write uses.
    std::set<int64_t> used;
    for (int k : known_) used.insert(ops_[k].zxid);
    for (const auto& [u, ev] : unknown_) used.insert(u);
    for (auto& c : expiry_) {
      if (c.assigned || !c.definite) continue;
      int64_t z = c.lb + 1;
      while (used.count(z)) ++z;
      used.insert(z);
      c.assigned = true;
      Commit k;
      k.zxid = z;
      k.session = c.session;
      k.close = true;
      k.certain = false;
      k.invoke = c.invoke;
      k.expire_t = c.expire_t;
      inferred_.push_back(k);
    }
    for (const auto& c : expiry_)
      if (!c.assigned) maybe_expired_.insert(c.session);

    for (int k : known_) {
      const Op& o = ops_[k];
      Commit c;
      c.zxid = o.zxid;
      c.op = k;
      c.session = o.session;
      c.invoke = o.invoke;
      c.answer = o.answer;
      c.close = o.op == "close";
      commits_.push_back(c);
    }
    for (const Commit& c : inferred_) commits_.push_back(c);
    std::sort(commits_.begin(), commits_.end(),
              [](const Commit& x, const Commit& y) { return x.zxid < y.zxid; });
    commits_by_zxid_.clear();
    size_t running = 0;
    for (size_t k = 0; k < commits_.size(); ++k) {
      commits_by_zxid_[commits_[k].zxid] = k;
      running = std::max(running, commits_[k].invoke);
      prefix_invoke_.push_back(running);
      if (commits_[k].close) {
        close_zxid_.emplace(commits_[k].session, commits_[k].zxid);
        if (commits_[k].certain) certain_close_.emplace(commits_[k].session, commits_[k].zxid);
      }
    }
  }

  ModelWriteResult apply_commit(ZooKeeperModel& m, const Commit& c) const {
    if (c.op < 0) return m.close_session(c.session, c.zxid);
    const Op& o = ops_[c.op];
    const json& a = h_[o.answer];
    int64_t t = 0;
    if (auto it = a.find("stat"); it != a.end() && it->is_object())
      t = num(*it, o.op == "create" ? "ctime" : "mtime");
    const std::string observed = str(a, "path");
    return m.apply(write_of(o), c.zxid, t, o.op == "create" ? &observed : nullptr);
  }

  // ---- pass B: replay the committed writes (G1, G9) ---------------------------------------

  void replay_writes() {
    ZooKeeperModel m;
    for (const char* p : {"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"})
      snapshot(m, p, 0, -1);
    std::map<std::string, std::pair<int64_t, size_t>> last_suffix;  // parent node -> suffix, line
    std::unordered_map<std::string, size_t> last_touch;             // path -> answer line
    for (size_t k = 0; k < commits_.size(); ++k) {
      const Commit& c = commits_[k];
      const ModelWriteResult r = apply_commit(m, c);
      if (c.op >= 0) {
        const Op& o = ops_[c.op];
        const json& a = h_[o.answer];
        std::vector<size_t> lines = lines_of(o);
        if (auto it = last_touch.find(o.path); it != last_touch.end()) lines.push_back(it->second);
        if (!r.ok()) {
          if (r.error == "SessionExpired") {
            rep_.add("G8",
                     o.op + " " + o.path + " of session " + o.session + " committed (zxid " +
                         std::to_string(c.zxid) + ") after the session was closed (zxid " +
                         std::to_string(close_zxid_of(o.session)) + ")",
                     {o.session}, {o.id}, {c.zxid, close_zxid_of(o.session)}, lines);
          } else {
            rep_.add("G1",
                     o.op + " " + o.path + " committed with zxid " + std::to_string(c.zxid) +
                         ", but ZooKeeper answers " + r.error + " at that point of the order",
                     {o.session}, {o.id}, {c.zxid}, lines);
          }
        } else if (o.op == "create" || o.op == "set_data") {
          if (o.op == "create") {
            const std::string got = str(a, "path");
            if (o.sequential) {
              check_sequential(m, o, got, r.path, lines, &last_suffix);
            } else if (got != r.path) {
              rep_.add("G1", "create " + o.path + " answered path " + got, {o.session}, {o.id},
                       {c.zxid}, lines);
            }
          }
          if (auto it = a.find("stat"); it != a.end() && it->is_object() && r.stat) {
            const Stat got = stat_of(*it);
            if (!(got == *r.stat))
              rep_.add(
                  "G1",
                  o.op + " " + o.path + " (zxid " + std::to_string(c.zxid) +
                      ") answered a stat that differs from ZooKeeper's: " + stat_diff(got, *r.stat),
                  {o.session}, {o.id}, {c.zxid}, lines);
          }
        }
        if (o.answer != kNoLine) {
          last_touch[o.path] = o.answer;
          if (o.op == "create") last_touch[str(a, "path")] = o.answer;
        }
      }
      std::vector<std::string> changed = r.changed;
      std::sort(changed.begin(), changed.end());
      changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
      for (const std::string& p : changed) snapshot(m, p, c.zxid, static_cast<int>(k));
    }
    for (auto& [path, t] : timelines_) {
      int next = -1;
      for (int k = static_cast<int>(t.size()) - 1; k >= 0; --k) {
        if (!t[k].exists) next = k;
        t[k].next_absent = next;
      }
    }
  }

  int64_t close_zxid_of(const std::string& s) const {
    auto it = close_zxid_.find(s);
    return it == close_zxid_.end() ? kNone : it->second;
  }

  void snapshot(const ZooKeeperModel& m, const std::string& path, int64_t z, int commit) {
    Version v;
    v.from = z;
    v.commit = commit;
    if (const ModelNode* n = m.node(path)) {
      v.exists = true;
      v.stat = n->stat;
      v.data = n->data;
      v.child_creates = n->child_creates;
    }
    Timeline& t = timelines_[path];
    if (!t.empty() && t.back().from == z) {
      t.back() = std::move(v);
    } else {
      t.push_back(std::move(v));
    }
  }

  void check_sequential(const ZooKeeperModel& m, const Op& o, const std::string& got,
                        const std::string& want, std::vector<size_t> lines,
                        std::map<std::string, std::pair<int64_t, size_t>>* last_suffix) {
    const std::string parent = parent_path(o.path + "0");
    // Names grow per parent node: a parent deleted and created again counts from 0.
    const ModelNode* pn = m.node(parent);
    const std::string incarnation = parent + '\x1f' + std::to_string(pn ? pn->stat.czxid : 0);
    const std::string suffix =
        got.size() >= o.path.size() ? got.substr(o.path.size()) : std::string();
    const bool well_formed =
        got.starts_with(o.path) && suffix.size() == 10 &&
        std::all_of(suffix.begin(), suffix.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    std::string problem;
    if (!well_formed) {
      problem = "is not the prefix " + o.path + " followed by %010d";
    } else if (got != want) {
      problem = "has suffix " + suffix + ", but the parent's child-create count gives " +
                want.substr(o.path.size());
    }
    int64_t n = well_formed ? std::stoll(suffix) : -1;
    auto it = last_suffix->find(incarnation);
    if (well_formed && it != last_suffix->end() && n <= it->second.first) {
      problem += std::string(problem.empty() ? "" : "; it ") + "is not above the earlier name " +
                 ZooKeeperModel::sequential_name("", it->second.first) + " under " + parent;
      lines.push_back(it->second.second);
    }
    if (!problem.empty())
      rep_.add("G9", "sequential create " + o.path + " answered " + got + ", which " + problem,
               {o.session}, {o.id}, {o.zxid}, lines);
    if (well_formed && (it == last_suffix->end() || n > it->second.first))
      (*last_suffix)[incarnation] = {n, o.answer};
  }

  // ---- pass 2, in history order: reads (G3, G4, G8), failed writes (G1) -------------------

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

  void judge_in_history_order() {
    std::unordered_map<std::string, Seen> seen;       // session
    std::unordered_map<std::string, Seen> seen_node;  // session + path
    std::vector<int> invoke_at(h_.size(), -1), answer_at(h_.size(), -1), watch_at(h_.size(), -1);
    for (size_t k = 0; k < ops_.size(); ++k) {
      invoke_at[ops_[k].invoke] = static_cast<int>(k);
      if (ops_[k].answered()) answer_at[ops_[k].answer] = static_cast<int>(k);
    }
    for (size_t k = 0; k < watches_.size(); ++k) watch_at[watches_[k].line] = static_cast<int>(k);

    for (size_t i = 0; i < h_.size(); ++i) {
      if (invoke_at[i] >= 0) {
        Op& o = ops_[invoke_at[i]];
        const Seen& s = seen[o.session];
        const Seen& sn = seen_node[key2(o.session, o.path)];
        o.seen = s.z;
        o.seen_line = s.line;
        o.seen_node = sn.z;
        o.seen_node_line = sn.line;
      } else if (watch_at[i] >= 0) {
        const WatchLine& w = watches_[watch_at[i]];
        seen[w.session].raise(w.zxid, i);
        seen_node[key2(w.session, w.path)].raise(w.zxid, i);
      } else if (answer_at[i] >= 0) {
        Op& o = ops_[answer_at[i]];
        if (o.committed()) {
          o.reflects = o.zxid;
          seen[o.session].raise(o.zxid, i);
          const std::string path = o.op == "create" ? str(h_[i], "path") : o.path;
          if (o.op != "close") seen_node[key2(o.session, path)].raise(o.zxid, i);
          if (o.op == "create" || o.op == "delete")
            seen_node[key2(o.session, parent_path(path))].raise(o.zxid, i);
        } else if (is_read_op(o.op)) {
          judge_read(static_cast<int>(answer_at[i]));
          if (o.reflects != kNone) {
            seen[o.session].raise(o.reflects, i);
            seen_node[key2(o.session, o.path)].raise(o.reflects, i);
          }
        } else if (is_write_op(o.op) && !o.ok && is_tree_error(o.error)) {
          judge_failed_write(o);
        }
      }
    }
  }

  void judge_read(int k) {
    Op& o = ops_[k];
    const json& a = h_[o.answer];
    if (!o.ok) {
      if (o.error == "BadArguments") {
        if (validate_client_path(o.path).is_ok())
          rep_.add("G4", o.op + " " + o.path + " answered BadArguments for a valid path",
                   {o.session}, {o.id}, {}, lines_of(o));
        return;
      }
      if (o.error != "NoNode" || o.op == "exists") return;  // SessionExpired etc.: G8
    }
    const int64_t lo = o.seen;
    const int64_t hi = committed_bound(o.answer);
    const bool absent = !o.ok || (o.op == "exists" && a.contains("stat") && a["stat"].is_null());
    std::vector<Candidate> valid;
    std::vector<size_t> lines = lines_of(o);
    if (absent) {
      valid = absent_candidates(o.path, lo, hi);
      if (valid.empty()) {
        const bool node_stale = absent_candidates(o.path, o.seen_node, hi).empty();
        const bool ever = !absent_candidates(o.path, 0, hi).empty();
        if (ever && node_stale && o.seen_node_line != kNoLine) {
          lines.push_back(o.seen_node_line);
          rep_.add("G3",
                   "session " + o.session + " read " + o.path +
                       " as missing after it had seen it exist (zxid " +
                       std::to_string(o.seen_node) + "); it exists from then until the read",
                   {o.session}, {o.id}, {o.seen_node}, lines);
        } else {
          lines.push_back(o.seen_line);
          rep_.add("G4",
                   o.op + " " + o.path + " answered that the node is missing, but it exists at " +
                       "every zxid from the session's last seen " + std::to_string(lo) +
                       " to the newest committed " + std::to_string(hi),
                   {o.session}, {o.id}, {lo, hi}, lines);
        }
        add_registration(k, nearest_absent(o.path, lo));
        return;
      }
    } else {
      const json& st = a.contains("stat") ? a["stat"] : json();
      if (!st.is_object()) {
        rep_.add("G4", o.op + " " + o.path + " answered ok without a stat", {o.session}, {o.id}, {},
                 lines);
        return;
      }
      const Stat got = stat_of(st);
      const int64_t from = std::max({got.czxid, got.mzxid, got.pzxid});
      const Timeline* t = timeline(o.path);
      int v = -1;
      if (t) {
        auto it = std::lower_bound(t->begin(), t->end(), from,
                                   [](const Version& x, int64_t z) { return x.from < z; });
        if (it != t->end() && it->from == from && it->exists && it->stat.czxid == got.czxid &&
            it->stat.mzxid == got.mzxid && it->stat.pzxid == got.pzxid)
          v = static_cast<int>(it - t->begin());
      }
      if (v < 0) {
        rep_.add("G4",
                 o.op + " " + o.path + " answered a state that never existed: no state of " +
                     o.path + " has czxid " + std::to_string(got.czxid) + ", mzxid " +
                     std::to_string(got.mzxid) + ", pzxid " + std::to_string(got.pzxid),
                 {o.session}, {o.id}, {got.czxid, got.mzxid, got.pzxid}, lines);
        return;
      }
      const Version& x = (*t)[v];
      std::string diff = stat_diff(got, x.stat);
      if (o.op == "get_data" && bytes_of(a) != x.data)
        diff += std::string(diff.empty() ? "" : ", ") + "data differs";
      if (o.op == "get_children") {
        const json& ch = a.contains("children") ? a["children"] : json::array();
        std::set<std::string> names;
        bool bad = !ch.is_array();
        if (!bad)
          for (const auto& c : ch) {
            if (!c.is_string() || !names.insert(c.get<std::string>()).second) bad = true;
          }
        if (!bad && static_cast<int32_t>(names.size()) != x.stat.num_children) bad = true;
        if (!bad)
          for (const std::string& n : names)
            if (!view_at(child_path(o.path, n), x.from).exists) bad = true;
        if (bad) diff += std::string(diff.empty() ? "" : ", ") + "children differ";
      }
      if (!diff.empty()) {
        if (x.commit >= 0 && commits_[x.commit].answer != kNoLine)
          lines.push_back(commits_[x.commit].answer);
        rep_.add("G4",
                 o.op + " " + o.path + " answered a result that differs from ZooKeeper's state " +
                     "with the same zxids: " + diff,
                 {o.session}, {o.id}, {x.from}, lines);
        return;
      }
      const Candidate c{x.from, end_of(*t, v), v};
      if (ephemeral_after_close(o, *t, v)) {
        add_registration(k, {c});
        return;
      }
      if (c.a <= hi && c.b > lo) {
        valid.push_back(c);
      } else {
        if (c.b <= o.seen_node && o.seen_node_line != kNoLine) {
          lines.push_back(o.seen_node_line);
          rep_.add("G3",
                   "session " + o.session + " read " + o.path + " in a state that ended at zxid " +
                       std::to_string(c.b) + ", after it had seen the node at zxid " +
                       std::to_string(o.seen_node),
                   {o.session}, {o.id}, {c.a, c.b, o.seen_node}, lines);
        } else if (c.b <= lo) {
          lines.push_back(o.seen_line);
          rep_.add("G4",
                   o.op + " " + o.path + " answered a state that ended at zxid " +
                       std::to_string(c.b) + ", older than the session's last seen zxid " +
                       std::to_string(lo),
                   {o.session}, {o.id}, {c.a, c.b, lo}, lines);
        } else {
          if (commits_by_zxid_.count(c.a))
            lines.push_back(commits_[commits_by_zxid_.at(c.a)].invoke);
          rep_.add("G4",
                   o.op + " " + o.path + " answered the state of zxid " + std::to_string(c.a) +
                       ", newer than every write invoked before the answer (up to zxid " +
                       std::to_string(hi) + ")",
                   {o.session}, {o.id}, {c.a, hi}, lines);
        }
        add_registration(k, {c});
        return;
      }
    }
    o.reflects = valid.front().a;
    for (const Candidate& c : valid) o.reflects = std::min(o.reflects, std::max(c.a, int64_t{0}));
    for (Candidate& c : valid) c.a = std::max(c.a, lo);  // any point in the window will do
    add_registration(k, valid);
  }

  // The registration of a read with watch:true, set at the state(s) the read can have seen. A
  // read judged out of its window registers at the state it showed, so that its event is not
  // reported a second time.
  void add_registration(int k, std::vector<Candidate> candidates) {
    const Op& o = ops_[k];
    if (!o.watch || !o.ok || candidates.empty()) return;  // NoNode registers nothing
    Registration r;
    r.op = k;
    r.kind = o.op == "get_children" ? WatchKind::Child : WatchKind::Data;
    r.candidates = std::move(candidates);
    regs_.push_back(std::move(r));
  }

  // Absent states of `path` around a read that found none in its window: the last one before
  // `lo` and those after it.
  std::vector<Candidate> nearest_absent(const std::string& path, int64_t lo) const {
    const Timeline* t = timeline(path);
    if (!t || t->empty()) return absent_candidates(path, lo, kInf);
    int j = version_at(*t, lo);
    for (int steps = 0; j >= 0 && (*t)[j].exists && steps < 64; ++steps) --j;
    return absent_candidates(path, j >= 0 ? (*t)[j].from : 0, kInf);
  }

  // A read that shows a node as it was before its session's close deleted ephemerals, although
  // the read came after that close was answered (or long after the session stopped answering).
  bool ephemeral_after_close(const Op& o, const Timeline& t, int v) {
    if (v + 1 >= static_cast<int>(t.size())) return false;
    const int ck = t[v + 1].commit;
    if (ck < 0) return false;
    const Commit& c = commits_[ck];
    if (!c.close) return false;
    const bool after_answer = c.answer != kNoLine && o.invoke > c.answer;
    const int64_t deadline =
        c.expire_t == kNone
            ? kInf
            : c.expire_t +
                  (sc_.config.session_timeout_ms + 2 * sc_.config.heartbeat_period_ms) * 1000;
    const bool after_deadline = line_t(o.invoke) > deadline;
    const bool seen_after = o.seen >= c.zxid;
    if (!after_answer && !after_deadline && !seen_after) return false;
    std::vector<size_t> lines = lines_of(o);
    if (c.answer != kNoLine) lines.push_back(c.answer);
    if (c.op >= 0) lines.push_back(ops_[c.op].invoke);
    if (seen_after) lines.push_back(o.seen_line);
    const std::string why = after_answer ? "after that close was answered"
                            : after_deadline
                                ? "later than expire + session timeout + 2 heartbeat periods"
                                : "after the session had seen zxid " + std::to_string(o.seen);
    rep_.add("G8",
             o.op + " " + o.path + " shows the node as it was before session " + c.session +
                 "'s close (zxid " + std::to_string(c.zxid) + ") deleted its ephemerals, " + why,
             {o.session, c.session}, {o.id, c.op >= 0 ? ops_[c.op].id : kNone}, {c.zxid}, lines);
    return true;
  }

  void judge_failed_write(const Op& o) {
    const int64_t lo = std::max(o.answered_max, o.seen);
    const int64_t hi = std::max(lo, committed_bound(o.answer));
    const ModelWrite w = write_of(o);
    std::vector<std::string> paths = {o.path};
    if (o.op == "create" && (o.sequential || o.path != "/"))
      paths.push_back(parent_path(o.sequential ? o.path + "0" : o.path));
    // The states in [lo, hi] that differ for this write: lo and every change of its nodes.
    std::vector<int64_t> points = {lo};
    bool truncated = false;
    for (const std::string& p : paths)
      if (const Timeline* t = timeline(p)) {
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
      const std::string e =
          ZooKeeperModel::check(w, [&](const std::string& p) { return view_at(p, z); });
      if (e == o.error) return;
      answers.insert(e.empty() ? "ok" : e);
    }
    if (truncated) return;  // it may be one of the states not looked at
    std::string said;
    for (const auto& s : answers) said += (said.empty() ? "" : " or ") + s;
    rep_.add("G1",
             o.op + " " + o.path + " answered " + o.error + ", but ZooKeeper answers " + said +
                 " at every state from zxid " + std::to_string(lo) + " to " + std::to_string(hi),
             {o.session}, {o.id}, {lo, hi}, lines_of(o));
  }

  // ---- pass C: watches through the model --------------------------------------------------

  void replay_watches() {
    struct Pending {
      int64_t at;
      size_t reg, cand;
    };
    std::vector<Pending> pending;
    for (size_t r = 0; r < regs_.size(); ++r) {
      regs_[r].fires.resize(regs_[r].candidates.size());
      for (size_t c = 0; c < regs_[r].candidates.size(); ++c)
        pending.push_back(Pending{regs_[r].candidates[c].a, r, c});
    }
    std::stable_sort(pending.begin(), pending.end(),
                     [](const Pending& x, const Pending& y) { return x.at < y.at; });
    ZooKeeperModel m;
    size_t next = 0;
    auto add_until = [&](int64_t z) {  // registrations set at states before zxid z
      for (; next < pending.size() && pending[next].at < z; ++next) {
        const Registration& r = regs_[pending[next].reg];
        const Op& o = ops_[r.op];
        m.add_watch(o.session, o.path, r.kind,
                    static_cast<int64_t>(pending[next].reg * kMaxCandidates + pending[next].cand));
      }
    };
    for (const Commit& c : commits_) {
      add_until(c.zxid);
      const ModelWriteResult res = apply_commit(m, c);
      for (const ModelEvent& e : res.events) {
        auto& f = regs_[e.registration / kMaxCandidates].fires[e.registration % kMaxCandidates];
        f.fired = true;
        f.event = e.event;
        f.zxid = c.zxid;
      }
    }
  }

  // ---- pass D: G5, G6 ----------------------------------------------------------------------

  size_t closing_line(const std::string& s) const {
    size_t line = kNoLine;
    auto it = sessions_.find(s);
    if (it == sessions_.end()) return line;
    for (int k : it->second) {
      const Op& o = ops_[k];
      if (o.op == "close" || o.op == "expire") line = std::min(line, o.invoke);
      if (o.answered() && o.error == "SessionExpired") line = std::min(line, o.answer);
    }
    return line;
  }

  void judge_watches() {
    // G5: events in zxid order per session.
    std::unordered_map<std::string, size_t> last;
    for (size_t k = 0; k < watches_.size(); ++k) {
      const WatchLine& w = watches_[k];
      auto it = last.find(w.session);
      if (it != last.end() && w.zxid < watches_[it->second].zxid) {
        const WatchLine& p = watches_[it->second];
        rep_.add("G5",
                 "session " + w.session + " recorded " + w.event + " " + w.path + " (zxid " +
                     std::to_string(w.zxid) + ") after " + p.event + " " + p.path + " (zxid " +
                     std::to_string(p.zxid) + ")",
                 {w.session}, {}, {p.zxid, w.zxid}, {p.line, w.line});
      }
      if (it == last.end() || w.zxid >= watches_[it->second].zxid) last[w.session] = k;
      // The event names a committed write that was invoked before it.
      auto c = commits_by_zxid_.find(w.zxid);
      if (c == commits_by_zxid_.end()) {
        rep_.add("G6",
                 w.event + " " + w.path + " for session " + w.session + " names zxid " +
                     std::to_string(w.zxid) + ", which no committed write has",
                 {w.session}, {}, {w.zxid}, {w.line});
      } else if (commits_[c->second].invoke > w.line) {
        const Commit& cm = commits_[c->second];
        rep_.add("G6",
                 w.event + " " + w.path + " for session " + w.session + " (zxid " +
                     std::to_string(w.zxid) + ") was recorded before that write was invoked",
                 {w.session, cm.session}, {cm.op >= 0 ? ops_[cm.op].id : kNone}, {w.zxid},
                 {w.line, cm.invoke});
      }
    }

    // G6: match every event line to a registration of its session and path.
    struct Group {
      std::vector<size_t> regs;
      std::multimap<std::pair<std::string, int64_t>, size_t> open;  // (event, zxid) -> reg
    };
    std::unordered_map<std::string, Group> groups;
    for (size_t r = 0; r < regs_.size(); ++r) {
      const Op& o = ops_[regs_[r].op];
      Group& g = groups[key2(o.session, o.path)];
      g.regs.push_back(r);
      for (const auto& f : regs_[r].fires)
        if (f.fired) g.open.emplace(std::make_pair(f.event, f.zxid), r);
    }
    for (size_t k = 0; k < watches_.size(); ++k) {
      const WatchLine& w = watches_[k];
      Group& g = groups[key2(w.session, w.path)];
      int found = -1;
      auto it = g.open.upper_bound({w.event, w.zxid});
      while (it != g.open.begin()) {
        --it;
        if (it->first.first != w.event) break;
        // Among registrations waiting for this same zxid, the earliest.
        auto range = g.open.equal_range(it->first);
        for (auto j = range.first; j != range.second && found < 0; ++j) {
          const Registration& r = regs_[j->second];
          if (r.matched_line < 0 && ops_[r.op].invoke < w.line) found = static_cast<int>(j->second);
        }
        if (found >= 0) break;
        it = range.first;
      }
      if (found >= 0) {
        Registration& r = regs_[found];
        r.matched_line = static_cast<int>(k);
        for (size_t c = 0; c < r.fires.size(); ++c)
          if (r.fires[c].fired && r.fires[c].event == w.event && r.fires[c].zxid <= w.zxid &&
              (r.matched_candidate < 0 || r.fires[c].zxid > r.fires[r.matched_candidate].zxid))
            r.matched_candidate = static_cast<int>(c);
        continue;
      }
      diagnose_unmatched(w, g.regs);
    }

    // G5: the event before any answer reflecting its zxid; G6: it fired at all.
    std::unordered_map<std::string, FirstAtLeast> reflect;
    std::unordered_map<std::string, size_t> closing;
    for (const auto& [name, list] : sessions_) {
      const size_t cl = closing_line(name);
      closing[name] = cl;
      std::vector<int64_t> v;
      for (int k : list) {
        const Op& o = ops_[k];
        v.push_back(o.answered() && o.op != "close" && o.answer < cl ? o.reflects : kNone);
      }
      reflect.emplace(name, FirstAtLeast(std::move(v)));
    }
    for (const Registration& r : regs_) {
      const Op& o = ops_[r.op];
      int64_t z = kNone;
      if (r.matched_candidate >= 0) {
        z = r.fires[r.matched_candidate].zxid;
      } else {
        bool all = !r.fires.empty();
        int64_t zmin = kInf;
        for (const auto& f : r.fires) {
          all = all && f.fired;
          if (f.fired) zmin = std::min(zmin, f.zxid);
        }
        if (!all) continue;
        z = zmin;
      }
      const auto& list = sessions_.at(o.session);
      const size_t j = reflect.at(o.session).find(o.seq + 1, z);
      const WatchLine* w = r.matched_line >= 0 ? &watches_[r.matched_line] : nullptr;
      std::vector<size_t> lines = {o.invoke, o.answer};
      if (w) lines.push_back(w->line);
      const Commit& cm = commits_[commits_by_zxid_.at(z)];
      const std::string change =
          "zxid " + std::to_string(z) + " (" +
          (cm.op >= 0 ? ops_[cm.op].op + " " + ops_[cm.op].path : "close of " + cm.session) + ")";
      if (j != kNoLine) {
        const Op& later = ops_[list[j]];
        if (!w || w->line > later.answer) {
          lines.push_back(later.invoke);
          lines.push_back(later.answer);
          if (cm.answer != kNoLine) lines.push_back(cm.answer);
          rep_.add("G5",
                   "session " + o.session + " holds the watch of id " + std::to_string(o.id) +
                       " (" + o.op + " " + o.path + "), triggered by " + change +
                       ", but the answer to id " + std::to_string(later.id) + " (" + later.op +
                       " " + later.path + ") reflects zxid " + std::to_string(later.reflects) +
                       (w ? " and came before the event" : " and no event came before it"),
                   {o.session}, {o.id, later.id}, {z, later.reflects}, lines);
          continue;
        }
      }
      if (!w && closing.at(o.session) == kNoLine && !maybe_expired_.count(o.session) &&
          close_zxid_of(o.session) == kNone) {
        if (cm.answer != kNoLine) lines.push_back(cm.answer);
        rep_.add("G6",
                 "the watch of id " + std::to_string(o.id) + " (" + o.op + " " + o.path +
                     ", session " + o.session + ") never fired, though " + change +
                     " triggers it and the session stayed open",
                 {o.session}, {o.id}, {z}, lines);
      }
    }
  }

  void diagnose_unmatched(const WatchLine& w, const std::vector<size_t>& regs) {
    // The likeliest explanation first: a registration this event would be with another type,
    // then one that fired already, then one it comes too early for.
    enum Why { WrongTypeHere, Duplicate, TooEarly, WrongType, Again, Nothing };
    Why best = Nothing;
    size_t best_reg = 0;
    const Registration::Fire* best_fire = nullptr;
    for (size_t r : regs) {
      const Registration& g = regs_[r];
      if (ops_[g.op].invoke > w.line) continue;
      for (const auto& f : g.fires) {
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
    std::vector<size_t> lines = {w.line};
    std::vector<int64_t> ids;
    std::string why;
    const int64_t closed = close_zxid_of(w.session);
    if (closed != kNone && closed <= w.zxid) {
      why = "the session was closed at zxid " + std::to_string(closed) +
            "; a closed session has no watches (nor gets events for its own ephemerals)";
      if (auto c = commits_by_zxid_.find(closed); c != commits_by_zxid_.end())
        lines.push_back(commits_[c->second].answer);
    } else if (best != Nothing) {
      const Registration& g = regs_[best_reg];
      const Op& o = ops_[g.op];
      ids.push_back(o.id);
      lines.push_back(o.invoke);
      lines.push_back(o.answer);
      const std::string watch = "the watch of id " + std::to_string(o.id) + " (" + o.op + ")";
      switch (best) {
        case WrongTypeHere:
        case WrongType:
          why = "wrong event type: " + watch + " fires " + best_fire->event + " (zxid " +
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
             "session " + w.session + " recorded " + w.event + " " + w.path + " (zxid " +
                 std::to_string(w.zxid) + "): " + why,
             {w.session}, ids, {w.zxid}, lines);
  }

  // ---- G8: what a closed or expired session is answered -----------------------------------

  void judge_sessions() {
    const int64_t grace =
        (sc_.config.session_timeout_ms + 2 * sc_.config.heartbeat_period_ms) * 1000;
    for (const std::string& name : session_order_) {
      const auto& list = sessions_.at(name);
      size_t since = kNoLine;  // the line from which the session is over
      std::string how;
      int64_t expire_deadline = kNone;
      for (const auto& c : inferred_)
        if (c.session == name && c.expire_t != kNone) expire_deadline = c.expire_t + grace;
      const auto cc = certain_close_.find(name);
      for (int k : list) {
        const Op& o = ops_[k];
        if (cc != certain_close_.end() && o.ok && o.op != "close" && o.op != "expire" &&
            o.reflects != kNone && o.reflects >= cc->second && !o.committed()) {
          const Commit& c = commits_[commits_by_zxid_.at(cc->second)];
          std::vector<size_t> lines = {o.invoke, o.answer, c.answer};
          if (c.op >= 0) lines.push_back(ops_[c.op].invoke);
          rep_.add("G8",
                   "id " + std::to_string(o.id) + " (" + o.op + " " + o.path + ") of session " +
                       name + " was answered ok with a state of zxid " +
                       std::to_string(o.reflects) + ", after the session's close (zxid " +
                       std::to_string(cc->second) + "); it must answer SessionExpired",
                   {name}, {o.id}, {cc->second, o.reflects}, lines);
          break;
        }
        if (since == kNoLine && expire_deadline != kNone && line_t(o.invoke) > expire_deadline) {
          since = o.invoke;
          how = "its expiry (more than session timeout + 2 heartbeat periods after expire)";
        }
        if (since != kNoLine && o.invoke > since && o.answered() && o.op != "expire") {
          const bool fine = o.op == "close" ? o.ok && !o.committed()
                                            : !o.ok && (o.error == "SessionExpired" ||
                                                        is_client_side_error(o.error));
          if (!fine) {
            rep_.add("G8",
                     "id " + std::to_string(o.id) + " (" + o.op +
                         (o.path.empty() ? "" : " " + o.path) + ") of session " + name +
                         " was answered " + (o.ok ? std::string("ok") : o.error) + " after " + how +
                         "; it must answer SessionExpired",
                     {name}, {o.id}, {o.zxid}, {since, o.invoke, o.answer});
            break;
          }
        }
        if (since == kNoLine && o.op == "close" && o.committed()) {
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

  struct Evidence {
    std::vector<std::pair<size_t, std::string>> deleted;  // NodeDeleted watch lines
    std::vector<std::pair<size_t, std::string>> stats;    // stats naming the zxid
  };

  const Scenario& sc_;
  const std::vector<json>& h_;
  Reporter rep_;
  std::vector<Op> ops_;
  std::unordered_map<int64_t, size_t> by_id_;
  std::map<std::string, std::vector<int>> sessions_;  // invocation order
  std::vector<std::string> session_order_;
  std::vector<WatchLine> watches_;
  int64_t answered_max_ = 0;
  std::unordered_map<int64_t, size_t> answered_by_zxid_;
  int64_t last_t_ = 0;

  std::vector<int> known_;  // committed ops, zxid order
  std::unordered_map<int64_t, size_t> commits_by_zxid_;
  std::unordered_map<std::string, int64_t> last_commit_;
  std::map<int64_t, Evidence> unknown_;
  std::vector<ExpiryCandidate> expiry_;
  std::vector<Commit> inferred_;
  std::set<std::string> maybe_expired_;
  std::vector<Commit> commits_;  // everything that committed, zxid order
  std::vector<size_t> prefix_invoke_;
  std::map<std::string, int64_t> close_zxid_;     // session -> its first close
  std::map<std::string, int64_t> certain_close_;  // the same, where it is not a guess

  std::unordered_map<std::string, Timeline> timelines_;
  std::vector<Registration> regs_;
};

}  // namespace

std::vector<Violation> check_history(const Scenario& sc,
                                     const std::vector<nlohmann::json>& history) {
  return Checker(sc, history).run();
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
