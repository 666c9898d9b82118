// The committed writes (harness/checker/checker_state.h says how the checker is laid out):
// sorted by zxid (a zxid committed twice is reported, G1, and the second write dropped), the
// zxids the history shows that no answer names (the evidence of closes by the heartbeat), the
// list of every commit with the inferred closes among them, and their replay through
// ZooKeeperModel (G1: the model accepts each write and answers as the client was answered; G9:
// sequential names), which leaves every node's states, its Timeline, for the later passes.
#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/checker/checker_state.h"

namespace fkemu::checker_detail {

using json = nlohmann::json;

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
  field("ttl_ms", got.ttl_ms, want.ttl_ms);
  return o.str();
}

// The writes answered with a zxid, in zxid order (known_); of two with one zxid, the one
// answered first.
void Checker::collect_commits() {
  struct Key {  // sorted by zxid, then answer line
    int64_t zxid;
    size_t answer;
    int op;
    bool operator<(const Key& y) const {
      return zxid != y.zxid ? zxid < y.zxid : answer < y.answer;
    }
  };
  std::vector<Key> committed;
  for (size_t k = 0; k < ops_.size(); ++k)
    if (ops_[k].committed())
      committed.push_back(Key{ops_[k].zxid, ops_[k].answer, static_cast<int>(k)});
  std::sort(committed.begin(), committed.end());
  known_.reserve(committed.size());
  known_zxids_.reserve(committed.size());
  last_commit_.assign(sessions_.size(), 0);
  for (const Key& key : committed) {
    const int k = key.op;
    Op& o = ops_[k];
    // In zxid order a second write with a zxid follows the first one that has it.
    if (!known_.empty() && ops_[known_.back()].zxid == o.zxid) {
      const Op& first = ops_[known_.back()];
      rep_.add("G1",
               "two writes committed with zxid " + std::to_string(o.zxid) + ": " + op_path(first) +
                   " (id " + std::to_string(first.id) + ") and " + op_path(o) + " (id " +
                   std::to_string(o.id) + ")",
               {name(first.session), name(o.session)}, {first.id, o.id}, {o.zxid},
               {first.answer, o.answer});
      o.zxid = kNone;
      continue;
    }
    known_.push_back(k);
    known_zxids_.push_back(o.zxid);
    last_commit_[o.session] = std::max(last_commit_[o.session], o.zxid);
  }
  index_known_zxids();
  collect_evidence();
}

// Committed zxids are usually consecutive: then a bitmap over their range answers known_zxid()
// (else a binary search does).
void Checker::index_known_zxids() {
  if (known_zxids_.empty()) return;
  const uint64_t range =
      static_cast<uint64_t>(known_zxids_.back()) - static_cast<uint64_t>(known_zxids_.front());
  if (range >= 64 * known_zxids_.size()) return;
  known_bits_.assign(range + 1, false);
  for (int64_t z : known_zxids_)
    known_bits_[static_cast<uint64_t>(z) - static_cast<uint64_t>(known_zxids_.front())] = true;
}

// Zxids the history shows that no answer names: closes by the heartbeat.
void Checker::collect_evidence() {
  auto note = [&](int64_t z, size_t line, std::string_view path, bool deleted_watch) {
    if (z <= 0 || known_zxid(z)) return;
    auto& e = unknown_[z];
    e.first = std::min(e.first, line);
    if (deleted_watch) {
      e.deleted.emplace_back(line, paths_.id(path));
    } else {
      e.stats.emplace_back(line, paths_.id(path));
    }
  };
  for (const WatchLine& w : watches_)
    note(w.zxid, w.line, path_of(w.path), w.event == "NodeDeleted");
  for (const Op& o : ops_) {
    if (!o.ok || !o.answered() || o.stat < 0) continue;
    const Stat& st = stats_[o.stat];
    const std::string& path = path_of(o.kind == OpKind::Create ? o.created : o.path);
    for (int64_t z : {st.czxid, st.mzxid, st.pzxid}) note(z, o.answer, path, false);
    if (o.kind == OpKind::GetChildren && o.children && !known_zxid(st.pzxid) && st.pzxid > 0)
      unknown_[st.pzxid].listings.emplace_back(paths_.id(path), o.children);
  }
}

// Everything that committed (commits_): the known writes and the inferred closes, in zxid
// order; and per session its first close, and its first certain one.
void Checker::build_commits() {
  commits_.reserve(known_.size() + inferred_.size());
  for (int k : known_) {
    const Op& o = ops_[k];
    Commit c;
    c.zxid = o.zxid;
    c.op = k;
    c.session = o.session;
    c.invoke = o.invoke;
    c.answer = o.answer;
    c.close = o.kind == OpKind::Close;
    commits_.push_back(c);
  }
  // The known writes are in zxid order already; the inferred closes go in among them.
  for (const Commit& c : inferred_) commits_.push_back(c);
  auto by_zxid = [](const Commit& x, const Commit& y) { return x.zxid < y.zxid; };
  const auto inferred = commits_.begin() + static_cast<std::ptrdiff_t>(known_.size());
  std::sort(inferred, commits_.end(), by_zxid);
  std::inplace_merge(commits_.begin(), inferred, commits_.end(), by_zxid);
  close_zxid_.assign(sessions_.size(), kNone);
  certain_close_.assign(sessions_.size(), kNone);
  commit_zxids_.reserve(commits_.size());
  prefix_invoke_.reserve(commits_.size());
  size_t running = 0;
  for (size_t k = 0; k < commits_.size(); ++k) {
    const Commit& c = commits_[k];
    commit_zxids_.push_back(c.zxid);
    running = std::max(running, c.invoke);
    prefix_invoke_.push_back(running);
    if (c.close) {  // a session's first close counts
      if (close_zxid_[c.session] == kNone) close_zxid_[c.session] = c.zxid;
      if (c.certain && certain_close_[c.session] == kNone) certain_close_[c.session] = c.zxid;
    }
  }
}

// The model's form of a write (into *w, reusing its strings' storage).
void Checker::write_of(const Op& o, ModelWrite* w) const {
  if (o.multi >= 0) {
    *w = multis_[o.multi];
    w->auth = identity_sets_[o.ids];
    return;
  }
  w->auth = identity_sets_[o.ids];
  w->acl = o.acl ? std::optional<Acl>(acl_of(*o.acl)) : std::nullopt;
  w->ops.clear();
  w->container = o.container;
  w->ttl_ms = o.ttl_ms;
  w->ttl_nodes = sc_.config.ttl_nodes.value_or(false);
  w->recursive = o.recursive;
  w->watch_id = o.kind == OpKind::AddWatch ? kPersistentIds + (&o - ops_.data()) : -1;
  w->op.assign(o.op);
  w->session = name(o.session);
  w->path = path_of(o.path);
  w->data.assign(o.bytes);
  w->ephemeral = o.ephemeral;
  w->sequential = o.sequential;
  w->version = o.version;
}

// Applies commit c to the model, at its zxid, with the time its stat gave.
ModelWriteResult Checker::apply_commit(ZooKeeperModel& m, const Commit& c, Scratch* s) const {
  if (c.op < 0) return m.close_session(name(c.session), c.zxid);
  const Op& o = ops_[c.op];
  int64_t t = 0;
  if (o.stat >= 0) t = o.kind == OpKind::Create ? stats_[o.stat].ctime : stats_[o.stat].mtime;
  if (o.kind == OpKind::Multi && o.results)  // its operations share one time: any stat's
    for (const json& x : *o.results)
      if (const json* st = find_member(x, "stat"); st && st->is_object()) {
        t = num(*st, str(find_member(x, "op")) == "create" ? "ctime" : "mtime");
        break;
      }
  write_of(o, &s->write);
  if (o.kind == OpKind::Multi) {
    // Its sequential creates' answered names, so that one wrong name does not make every
    // later read disagree.
    std::vector<std::string> names;
    if (o.results)
      for (size_t i = 0; i < o.results->size() && i < s->write.ops.size(); ++i)
        if (s->write.ops[i].op == "create" && s->write.ops[i].sequential)
          names.emplace_back(str(find_member((*o.results)[i], "path")));
    return m.apply(s->write, c.zxid, t, nullptr, &names);
  }
  if (o.kind != OpKind::Create) return m.apply(s->write, c.zxid, t, nullptr);
  s->observed = path_of(o.created);
  return m.apply(s->write, c.zxid, t, &s->observed);
}

// Replays every commit in zxid order through the model (G1, G9); each node it changes gets a
// Version from that zxid in its Timeline.

void Checker::replay_writes() {
  ZooKeeperModel m;
  Scratch scratch;
  for (const char* p : {"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"})
    snapshot(m, paths_.id(p), 0, -1);
  LastSuffix last_suffix;
  std::vector<size_t> last_touch;  // path -> answer line of the last write that touched it
  auto touched = [&](int path) -> size_t& {
    if (static_cast<size_t>(path) >= last_touch.size()) last_touch.resize(paths_.size(), kNoLine);
    return last_touch[path];
  };
  // path -> the invoke line of the write that last set its mtime (a create or a data change)
  std::map<std::string, size_t> data_changed;
  for (size_t k = 0; k < commits_.size(); ++k) {
    const Commit& c = commits_[k];
    if (c.op >= 0 && ops_[c.op].service) {
      // The service deletes a container only once it is empty after it has had children, and
      // a TTL node only once it has no children and its data has not changed for longer than
      // its time to live (decision 53).
      const Op& o = ops_[c.op];
      const ModelNode* n = m.node(path_of(o.path));
      if (!n || !(n->empty_container() || n->childless_ttl())) {
        const std::string kind = n && n->stat.ttl_ms > 0 ? "a TTL node" : "a container";
        rep_.add("G1",
                 "the service deleted " + path_of(o.path) + " (zxid " + std::to_string(c.zxid) +
                     "), which is " +
                     (!n ? std::string("not there")
                      : !n->container && n->stat.ttl_ms == 0
                          ? std::string("neither a container nor a TTL node")
                      : !n->children.empty()
                          ? kind + " with " + std::to_string(n->children.size()) + " children"
                          : std::string("a container that never had a child")) +
                     " at that point of the order",
                 {}, {}, {c.zxid}, {o.answer, touched(o.path)});
      } else if (n->childless_ttl()) {
        // Its mtime is no earlier than the invocation of the write that set it, and the
        // service decided before its line: a delete sooner than the time to live after that
        // invocation came too soon. The writer that set the mtime may run on a clock off by up
        // to a second (the clock.skew fault site: a function instance started by a queue; the
        // TTL function runs on the schedule's clock), and mtime is whole milliseconds.
        auto it = data_changed.find(path_of(o.path));
        const int64_t since = it == data_changed.end() ? kNone : line_t(it->second);
        const int64_t after = line_t(o.answer) - since;
        constexpr int64_t kClockSlackUs = 1000 * 1000 + 1000;
        if (since != kNone && after + kClockSlackUs < n->stat.ttl_ms * 1000)
          rep_.add("G1",
                   "the service deleted the TTL node " + path_of(o.path) + " (zxid " +
                       std::to_string(c.zxid) + ", time to live " + std::to_string(n->stat.ttl_ms) +
                       " ms) " + std::to_string(after / 1000) +
                       " ms after the write that last set its data was invoked",
                   {}, {}, {c.zxid}, {o.answer, it->second});
      }
    }
    const ModelWriteResult r = apply_commit(m, c, &scratch);
    if (c.op >= 0 && ops_[c.op].kind == OpKind::Multi && r.ok()) check_multi_results(ops_[c.op], r);
    if (c.op >= 0) {
      const Op& o = ops_[c.op];
      const size_t before = touched(o.path);
      auto lines = [&] { return std::vector<size_t>{o.invoke, o.answer, before}; };
      if (!r.ok()) {
        if (r.error == "SessionExpired") {
          rep_.add("G8",
                   op_path(o) + " of session " + name(o.session) + " committed (zxid " +
                       std::to_string(c.zxid) + ") after the session was closed (zxid " +
                       std::to_string(close_zxid_[o.session]) + ")",
                   {name(o.session)}, {o.id}, {c.zxid, close_zxid_[o.session]}, lines());
        } else {
          rep_.add("G1",
                   op_path(o) + " committed with zxid " + std::to_string(c.zxid) +
                       ", but ZooKeeper answers " + r.error + " at that point of the order",
                   {name(o.session)}, {o.id}, {c.zxid}, lines());
        }
      } else if (o.kind == OpKind::Create || o.kind == OpKind::SetData ||
                 o.kind == OpKind::SetAcl) {
        if (o.kind == OpKind::Create) {
          const std::string& got = path_of(o.created);
          if (o.sequential) {
            check_sequential(m, o, got, r.path, before, &last_suffix);
          } else if (got != r.path) {
            rep_.add("G1", "create " + path_of(o.path) + " answered path " + got, {name(o.session)},
                     {o.id}, {c.zxid}, lines());
          }
        }
        if (o.stat >= 0 && r.stat) {
          const Stat& got = stats_[o.stat];
          if (!(got == *r.stat))
            rep_.add(
                "G1",
                op_path(o) + " (zxid " + std::to_string(c.zxid) +
                    ") answered a stat that differs from ZooKeeper's: " + stat_diff(got, *r.stat),
                {name(o.session)}, {o.id}, {c.zxid}, lines());
        }
      }
      if (o.answer != kNoLine) {
        touched(o.path) = o.answer;
        if (o.kind == OpKind::Create) touched(o.created) = o.answer;
      }
    }
    // (A path the write changed twice is snapshotted twice, the same state both times.)
    for (const std::string& p : r.changed) {
      snapshot(m, changed_id(c, p), c.zxid, static_cast<int>(k));
      if (const ModelNode* n = m.node(p); n && c.op >= 0 && n->stat.mzxid == c.zxid)
        data_changed[p] = ops_[c.op].invoke;
    }
  }
  for (Timeline& t : timelines_) {
    int next = -1;
    for (int k = static_cast<int>(t.size()) - 1; k >= 0; --k) {
      if (!t[k].exists) next = k;
      t[k].next_absent = next;
    }
  }
}

// G1: an ok multi's results are the model's: one per operation, a create's name, a set_data's
// stat.
void Checker::check_multi_results(const Op& o, const ModelWriteResult& r) {
  const json* got = o.results;
  std::string problem;
  const size_t n = got ? got->size() : 0;
  if (n != r.results.size()) {
    problem =
        std::to_string(n) + " results for " + std::to_string(r.results.size()) + " operations";
  } else {
    for (size_t i = 0; i < n && problem.empty(); ++i) {
      const json& x = (*got)[i];
      const ModelOpResult& want = r.results[i];
      const std::string at = "operation " + std::to_string(i) + " (" + want.op + ")";
      if (str(find_member(x, "op")) != want.op) {
        problem = at + " answered as " + std::string(str(find_member(x, "op")));
      } else if (want.op == "create" && str(find_member(x, "path")) != want.path) {
        problem = at + " answered path " + std::string(str(find_member(x, "path"))) +
                  ", ZooKeeper's is " + want.path;
      } else if (want.stat && (want.op == "set_data" || find_member(x, "stat"))) {
        const json* st = find_member(x, "stat");
        if (!st || !st->is_object()) {
          problem = at + " answered no stat";
        } else if (const Stat g = tolerant_stat(*st); !(g == *want.stat)) {
          problem =
              at + " answered a stat that differs from ZooKeeper's: " + stat_diff(g, *want.stat);
        }
      }
    }
  }
  if (!problem.empty())
    rep_.add(
        "G1",
        "multi (id " + std::to_string(o.id) + ", zxid " + std::to_string(o.zxid) + "): " + problem,
        {name(o.session)}, {o.id}, {o.zxid}, {o.invoke, o.answer});
}

// The id of a path a commit changed: mostly the write's own node, whose id is at hand.
int Checker::changed_id(const Commit& c, const std::string& path) {
  if (c.op >= 0) {
    const Op& o = ops_[c.op];
    if (path == path_of(o.path)) return o.path;
    if (o.created >= 0 && path == path_of(o.created)) return o.created;
  }
  return paths_.id(path);
}

// The model's state of `path` becomes its Version from zxid z (`commit`: index into commits_,
// -1: the initial tree).
void Checker::snapshot(const ZooKeeperModel& m, int path, int64_t z, int commit) {
  if (static_cast<size_t>(path) >= timelines_.size()) timelines_.resize(paths_.size());
  Timeline& t = timelines_[path];
  Version* v;
  if (!t.empty() && t.back().from == z) {
    v = &t.back();
    *v = Version{};
  } else {
    v = &t.emplace_back();
  }
  v->from = z;
  v->commit = commit;
  if (const ModelNode* n = m.node(path_of(path))) {
    v->exists = true;
    v->stat = n->stat;
    v->data = n->data;
    v->child_creates = n->child_creates;
    v->acl = n->acl;
  }
}

// G9: a sequential create's name `got` is `want`, ZooKeeper's, and above every earlier name under
// the same parent node.
void Checker::check_sequential(const ZooKeeperModel& m, const Op& o, std::string_view got,
                               const std::string& want, size_t touched_line,
                               LastSuffix* last_suffix) {
  const std::string& path = path_of(o.path);
  const std::string parent = parent_path(path + "0");
  // Names grow per parent node: a parent deleted and created again counts from 0.
  const ModelNode* pn = m.node(parent);
  const std::pair<int, int64_t> incarnation{paths_.id(parent), pn ? pn->stat.czxid : 0};
  const std::string_view suffix =
      got.size() >= path.size() ? got.substr(path.size()) : std::string_view();
  const bool well_formed =
      got.starts_with(path) && suffix.size() == 10 &&
      std::all_of(suffix.begin(), suffix.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  std::string problem;
  if (!well_formed) {
    problem = "is not the prefix " + path + " followed by %010d";
  } else if (got != want) {
    problem = "has suffix " + std::string(suffix) + ", but the parent's child-create count gives " +
              want.substr(path.size());
  }
  int64_t n = well_formed ? std::stoll(std::string(suffix)) : -1;
  size_t earlier_line = kNoLine;
  auto it = last_suffix->find(incarnation);
  if (well_formed && it != last_suffix->end() && n <= it->second.first) {
    problem += std::string(problem.empty() ? "" : "; it ") + "is not above the earlier name " +
               ZooKeeperModel::sequential_name("", it->second.first) + " under " + parent;
    earlier_line = it->second.second;
  }
  if (!problem.empty())
    rep_.add("G9",
             "sequential create " + path + " answered " + std::string(got) + ", which " + problem,
             {name(o.session)}, {o.id}, {o.zxid}, {o.invoke, o.answer, touched_line, earlier_line});
  if (well_formed && (it == last_suffix->end() || n > it->second.first))
    (*last_suffix)[incarnation] = {n, o.answer};
}

}  // namespace fkemu::checker_detail
