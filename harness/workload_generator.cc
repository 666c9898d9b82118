#include "harness/workload_generator.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>

#include "core/model/path.h"
#include "core/runtime/rng.h"
#include "core/text/base64.h"
#include "emulator/digest.h"
#include "emulator/operation.h"
#include "harness/zookeeper_model.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

constexpr const char* kSessionNames[] = {"a", "b", "c", "d", "e"};

// Draws one scenario. The ZooKeeper model follows the steps in the order they are drawn: exact
// for a sequential scenario (but for when an expiry takes effect), a guide for a concurrent one.
class Generator {
 public:
  Generator(uint64_t seed, const GeneratorOptions& o) : rng_(seed), o_(o), seed_(seed) {}

  json build() {
    sequential_ = o_.comparable || rng_.chance(0.5);
    const size_t n_sessions = 1 + std::min<size_t>(o_.max_sessions - 1, weighted({1, 4, 4, 2, 1}));
    for (size_t i = 0; i < n_sessions && i < std::size(kSessionNames); ++i)
      sessions_.push_back(kSessionNames[i]);
    draw_config();
    draw_tree();
    target_ = o_.min_steps + rng_.below(o_.max_steps - o_.min_steps + 1);

    // Most scenarios start from a few nodes that exist, so that the first steps collide.
    if (rng_.chance(0.8)) {
      const size_t k = 1 + rng_.below(parents_.size());
      for (size_t i = 0; i < k; ++i) ensure_exists(parents_[i], any_session());
    }
    while (steps_.size() < target_) {
      switch (weighted({5, 4, sessions_.size() > 1 ? 3u : 1u, 2, 1, sessions_.size() > 1 ? 2u : 0u,
                        2, o_.comparable ? 0u : 2u, o_.comparable ? 0u : 1u, 2})) {
        case 0:
          random_op();
          break;
        case 1:
          watch_then_change();
          break;
        case 2:
          ephemerals_end();
          break;
        case 3:
          sequential_churn();
          break;
        case 4:
          session_end();
          break;
        case 5:
          both_records_of_an_update();
          break;
        case 6:
          multi();
          break;
        case 7:
          persistent_watch();
          break;
        case 8:
          container_churn();
          break;
        default:
          acl_guarded();
          break;
      }
    }
    json sc{{"name", name()},
            {"description", "Generated from seed " + std::to_string(seed_) + " (" +
                                (o_.comparable ? "comparable with ZooKeeper; " : "") + summary() +
                                ")."}};
    if (!config_.empty()) sc["config"] = config_;
    sc["sessions"] = sessions_;
    sc["mode"] = sequential_ ? "sequential" : "concurrent";
    sc["steps"] = steps_;
    return sc;
  }

  std::string name() const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "gen-%016llx%s", static_cast<unsigned long long>(seed_),
                  o_.comparable ? "-zk" : "");
    return buf;
  }

 private:
  // ---- draws ---------------------------------------------------------------------------------

  // An index drawn with the given weights.
  size_t weighted(std::initializer_list<unsigned> w) {
    unsigned total = 0;
    for (unsigned x : w) total += x;
    uint64_t r = rng_.below(total);
    size_t i = 0;
    for (unsigned x : w) {
      if (r < x) return i;
      r -= x;
      ++i;
    }
    return 0;
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[rng_.below(v.size())];
  }

  void draw_config() {
    if (rng_.chance(0.15)) return;  // the defaults
    static const std::vector<int64_t> timeouts = {1000, 2000, 3000, 4000, 6000, 10000};
    static const std::vector<int64_t> periods = {100, 250, 500, 1000, 2000};
    timeout_ms_ = pick(timeouts);
    std::vector<int64_t> fit;
    for (int64_t p : periods)
      if (2 * p <= timeout_ms_) fit.push_back(p);
    heartbeat_ms_ = pick(fit);
    if (rng_.chance(0.8)) config_["session_timeout_ms"] = timeout_ms_;
    if (rng_.chance(0.8)) config_["heartbeat_period_ms"] = heartbeat_ms_;
    if (!config_.contains("session_timeout_ms")) timeout_ms_ = 4000;
    if (!config_.contains("heartbeat_period_ms")) heartbeat_ms_ = 1000;
    if (heartbeat_ms_ * 2 > timeout_ms_) {  // keep the period below half the timeout
      heartbeat_ms_ = 500;
      config_["heartbeat_period_ms"] = heartbeat_ms_;
    }
    if (rng_.chance(0.6)) config_["writer_groups"] = rng_.chance(0.5) ? "single" : "per_session";
    if (rng_.chance(0.6)) config_["user_store"] = rng_.chance(0.6) ? "object" : "kv";
    if (rng_.chance(0.2)) {
      config_["latency_model"] = "aws-2024";
      if (rng_.chance(0.7))
        config_["function_memory_mb"] = pick(std::vector<int64_t>{512, 1024, 2048});
    } else if (rng_.chance(0.2)) {
      config_["latency_model"] = "zero";
    }
  }

  void draw_tree() {
    std::vector<std::string> tops = {"/a", "/b", "/c"};
    const size_t n = 1 + weighted({3, 3, 1});
    for (size_t i = 0; i < n; ++i) parents_.push_back(tops[i]);
    if (rng_.chance(0.3)) parents_.push_back(parents_[0] + "/p");  // a nested parent
    std::vector<std::string> all = {"x", "y", "z", "w"};
    const size_t k = 2 + rng_.below(2);
    for (size_t i = 0; i < k; ++i) names_.push_back(all[i]);
  }

  std::string data() {
    switch (weighted({16, 6, 4, 1, 8})) {
      case 0:
        return std::string(1, 'v').append(std::to_string(rng_.below(10)));
      case 1:
        return "";
      case 2: {
        std::string s(1 + rng_.below(6), '\0');
        for (char& c : s) c = static_cast<char>(rng_.below(256));
        return s;  // bytes, often not UTF-8: written as data_b64
      }
      case 3:
        return std::string(100 + rng_.below(2000), static_cast<char>('a' + rng_.below(26)));
      default: {
        std::string s(1 + rng_.below(12), 'a');
        for (char& c : s) c = static_cast<char>('a' + rng_.below(26));
        return s;
      }
    }
  }

  void put_data(json& step) {
    const std::string d = data();
    put_data_field(d, "data", "data_b64", step);
  }

  std::string any_session() { return pick(sessions_); }
  // A session that (as far as the generator knows) can still act; any session if none can.
  std::string live_session(const std::string& other_than = {}) {
    std::vector<std::string> live;
    for (const auto& s : sessions_)
      if (!gone_.count(s) && s != other_than) live.push_back(s);
    if (live.empty()) {
      for (const auto& s : sessions_)
        if (!gone_.count(s)) live.push_back(s);
    }
    if (live.empty() || rng_.chance(0.04)) return any_session();
    return pick(live);
  }

  bool exists(const std::string& path) const { return model_.node(path) != nullptr; }

  // The sequential names a parent has handed out and the next ones it will.
  std::vector<std::string> sequential_names(const std::string& parent, const std::string& prefix) {
    std::vector<std::string> out;
    const ModelNode* p = model_.node(parent);
    const int64_t next = p ? p->child_creates : 0;
    for (int64_t k = std::max<int64_t>(0, next - 3); k <= next + 1; ++k)
      out.push_back(ZooKeeperModel::sequential_name(prefix, k));
    return out;
  }

  // A path of the small tree. `want`: 1 an existing node, 0 a missing one whose parent exists,
  // -1 anything.
  std::string path(int want) {
    if (!o_.comparable && rng_.chance(0.02)) return "/";
    if (rng_.chance(0.02)) return invalid_path();
    std::vector<std::string> all;
    for (const auto& p : parents_) {
      all.push_back(p);
      for (const auto& n : names_) all.push_back(p + "/" + n);
      for (const auto& s : sequential_names(p, p + "/s-")) all.push_back(s);
    }
    for (const auto& n : names_) all.push_back("/" + n);
    if (want < 0) return pick(all);
    std::vector<std::string> fit;
    for (const auto& p : all) {
      const bool e = exists(p);
      if (want == 1 && e) fit.push_back(p);
      if (want == 0 && !e && exists(parent_path(p))) fit.push_back(p);
    }
    if (fit.empty() || rng_.chance(0.1)) return pick(all);
    return pick(fit);
  }

  std::string invalid_path() {
    std::vector<std::string> bad = {"/a/", "a", "/a//x", "/a/.", "/b/..", "/a\x01x"};
    if (!o_.comparable) {
      bad.push_back("/zookeeper");
      bad.push_back("/zookeeper/quota");
    }
    return pick(bad);
  }

  // ---- steps ---------------------------------------------------------------------------------

  json& add(const std::string& session, const std::string& op) {
    steps_.push_back(json{{"session", session}, {"op", op}});
    return steps_.back();
  }

  void create(const std::string& s, const std::string& path, bool ephemeral, bool sequential,
              bool container = false) {
    json& st = add(s, "create");
    st["path"] = path;
    put_data(st);
    put_flags(st, ephemeral, sequential, container);
    ModelWrite w{"create", s, path, "", ephemeral, sequential, -1};
    w.container = container;
    w.auth = ids_[s];
    apply(w);
  }

  void put_flags(json& st, bool ephemeral, bool sequential, bool container) {
    if (!ephemeral && !sequential && !container) return;
    json flags = json::array();
    if (ephemeral) flags.push_back("ephemeral");
    if (sequential) flags.push_back("sequential");
    if (container) flags.push_back("container");
    if (flags.size() == 2 && rng_.chance(0.5)) std::swap(flags[0], flags[1]);
    st["flags"] = flags;
  }

  void read(const std::string& s, const std::string& op, const std::string& path, bool watch) {
    json& st = add(s, op);
    st["path"] = path;
    if (op == "get_acl") return;  // (sets no watch)
    if (watch) {
      st["watch"] = true;
    } else if (rng_.chance(0.1)) {
      st["watch"] = false;
    }
  }

  // A version that is right, wrong, or none at all.
  void version(json& st, const std::string& path) {
    const ModelNode* n = model_.node(path);
    switch (weighted({4, 3, 3})) {
      case 0:
        return;  // none: -1
      case 1:
        st["version"] = n ? n->stat.version : 0;
        return;
      default:
        st["version"] = n ? n->stat.version + 1 + static_cast<int>(rng_.below(2)) : 1;
        if (rng_.chance(0.1)) st["version"] = -1;
        return;
    }
  }

  void set_data(const std::string& s, const std::string& path) {
    json& st = add(s, "set_data");
    st["path"] = path;
    put_data(st);
    version(st, path);
    ModelWrite w{"set_data", s, path, "", false, false, st.value("version", -1)};
    w.auth = ids_[s];
    apply(w);
  }

  void remove(const std::string& s, const std::string& path) {
    json& st = add(s, "delete");
    st["path"] = path;
    version(st, path);
    ModelWrite w{"delete", s, path, "", false, false, st.value("version", -1)};
    w.auth = ids_[s];
    apply(w);
  }

  void close(const std::string& s) {
    add(s, "close");
    if (!gone_.count(s)) {
      (void)model_.close_session(s, ++zxid_);  // the model tracks the tree
      clean_containers();
    }
    gone_.insert(s);
  }

  void expire(const std::string& s) {
    add(s, "expire");
    expiring_.insert(s);
    gone_.insert(s);
  }

  // Long enough for every expiry drawn so far to have happened (or not, sometimes).
  void wait(bool past_expiry) {
    int64_t ms = 1 + static_cast<int64_t>(rng_.below(300));
    if (past_expiry) ms = timeout_ms_ + 2 * heartbeat_ms_ + static_cast<int64_t>(rng_.below(1500));
    steps_.push_back(json{{"wait_ms", ms}});
    if (past_expiry) {
      for (const auto& s : expiring_) (void)model_.close_session(s, ++zxid_);  // (as in close)
      expiring_.clear();
      clean_containers();
    }
  }

  void apply(const ModelWrite& w) {
    if (model_.check(w).empty()) (void)model_.apply(w, ++zxid_);  // checked first: it applies
    clean_containers();
  }

  // The service deletes the containers a write left empty (decision 48).
  void clean_containers() {
    for (auto empty = model_.empty_containers(); !empty.empty(); empty = model_.empty_containers())
      for (const std::string& c : empty) (void)model_.apply(make_write("delete", "", c), ++zxid_);
  }

  // Creates `path` (and its parents) if the model says it is missing.
  void ensure_exists(const std::string& path, const std::string& s) {
    if (path == "/" || exists(path)) return;
    ensure_exists(parent_path(path), s);
    create(s, path, false, false);
  }

  // ---- motifs --------------------------------------------------------------------------------

  void random_op() {
    const std::string s = live_session();
    switch (weighted({6, 3, 3, 3, 4, 3, 1, o_.comparable ? 0u : 1u, o_.comparable ? 0u : 1u})) {
      case 0: {
        const bool seq = rng_.chance(0.3);
        std::string p;
        if (seq) {
          const std::string parent = rng_.chance(0.85) ? pick(parents_) : std::string("/");
          if (parent == "/" && o_.comparable) {
            p = pick(parents_) + "/s-";
          } else {
            p = parent == "/" ? "/s-" : parent + (rng_.chance(0.9) ? "/s-" : "/");
          }
        } else {
          p = path(rng_.chance(0.8) ? 0 : -1);
        }
        create(s, p, rng_.chance(0.3), seq);
        break;
      }
      case 1:
        read(s, "get_data", path(rng_.chance(0.7) ? 1 : -1), rng_.chance(0.5));
        break;
      case 2:
        read(s, "exists", path(-1), rng_.chance(0.5));
        break;
      case 3:
        read(s, "get_children", path(rng_.chance(0.7) ? 1 : -1), rng_.chance(0.5));
        break;
      case 4:
        set_data(s, path(rng_.chance(0.8) ? 1 : -1));
        break;
      case 5:
        remove(s, leaf_or_any());
        break;
      case 6:
        close(s);
        break;
      case 7:
        expire(s);
        if (rng_.chance(0.5)) wait(true);
        break;
      default:
        wait(!expiring_.empty() && rng_.chance(0.7));
        break;
    }
  }

  // An existing node without children (deletable), mostly.
  std::string leaf_or_any() {
    std::vector<std::string> leaves;
    for (const auto& p : parents_) {
      for (const auto& n : names_) leaves.push_back(p + "/" + n);
      for (const auto& s : sequential_names(p, p + "/s-")) leaves.push_back(s);
      leaves.push_back(p);
    }
    std::vector<std::string> fit;
    for (const auto& l : leaves)
      if (const ModelNode* n = model_.node(l); n && n->children.empty()) fit.push_back(l);
    if (fit.empty() || rng_.chance(0.15)) return path(-1);
    return pick(fit);
  }

  // One or two sessions watch a node (or its parent's children); then a session creates,
  // changes or deletes it, maybe twice; then a watcher looks again.
  void watch_then_change() {
    const bool missing = rng_.chance(0.5);
    const std::string x = path(missing ? 0 : 1);
    // (An invalid path's "parent" is one of the tree's: the root is not comparable.)
    std::string parent =
        x == "/" || !validate_client_path(x).is_ok() ? std::string("/") : parent_path(x);
    if (parent == "/" && o_.comparable) parent = pick(parents_);
    const size_t watchers = 1 + rng_.below(2);
    std::vector<std::string> who;
    for (size_t i = 0; i < watchers; ++i) {
      const std::string w = live_session();
      who.push_back(w);
      switch (weighted({exists(x) ? 2u : 4u, exists(x) ? 3u : 1u, 2, 2})) {
        case 0:
          read(w, "exists", x, true);
          break;
        case 1:
          read(w, "get_data", x, true);
          break;
        case 2:
          read(w, "get_children", x, true);
          break;
        default:
          read(w, "get_children", parent, true);
          break;
      }
    }
    // The change: by another session mostly, by a watcher itself sometimes.
    const std::string c = rng_.chance(0.7) ? live_session(who[0]) : who[0];
    change(c, x);
    if (rng_.chance(0.4)) change(live_session(), x);
    if (rng_.chance(0.6)) {
      const std::string w = pick(who);
      read(w, pick(std::vector<std::string>{"exists", "get_data", "get_children"}), x,
           rng_.chance(0.4));
    }
  }

  void change(const std::string& s, const std::string& x) {
    if (!exists(x)) {
      if (rng_.chance(0.8)) {
        create(s, x, rng_.chance(0.3), false);
      } else {
        set_data(s, x);  // NoNode
      }
      return;
    }
    const ModelNode* n = model_.node(x);
    switch (weighted({3, n->children.empty() ? 3u : 1u, 2})) {
      case 0:
        set_data(s, x);
        break;
      case 1:
        remove(s, x);
        break;
      default: {  // a child: the parent's child watches fire
        const std::string child = x == "/" ? "/" + pick(names_) : x + "/" + pick(names_);
        if (exists(child)) {
          remove(s, child);
        } else {
          create(s, child, rng_.chance(0.3), false);
        }
      }
    }
  }

  // A session holds ephemerals that others watch; it expires (or closes) while they work.
  void ephemerals_end() {
    const std::string owner = live_session();
    const std::string p = pick(parents_);
    ensure_exists(p, live_session(owner));
    const size_t k = 1 + rng_.below(3);
    std::vector<std::string> mine;
    for (size_t i = 0; i < k; ++i) {
      const bool seq = rng_.chance(0.5);
      std::string at = seq ? p + "/s-" : p + "/" + pick(names_);
      if (seq) {
        const ModelNode* parent = model_.node(p);
        mine.push_back(ZooKeeperModel::sequential_name(at, parent ? parent->child_creates : 0));
      } else {
        mine.push_back(at);
      }
      create(owner, at, true, seq);
    }
    const std::string w1 = live_session(owner);
    read(w1, "get_children", p, true);
    if (rng_.chance(0.7)) read(live_session(owner), "exists", pick(mine), true);
    if (rng_.chance(0.3)) read(live_session(owner), "get_data", pick(mine), true);
    const bool expiry = !o_.comparable && rng_.chance(0.6);
    if (expiry) {
      expire(owner);
    } else {
      close(owner);
    }
    // Others race with the end of the session.
    const size_t race = rng_.below(3);
    for (size_t i = 0; i < race; ++i) {
      const std::string s = live_session(owner);
      if (rng_.chance(0.5)) {
        create(s, p + "/s-", rng_.chance(0.5), true);
      } else {
        read(s, "get_children", p, rng_.chance(0.5));
      }
    }
    if (expiry && rng_.chance(0.8)) wait(true);
    read(w1, "get_children", p, rng_.chance(0.3));
    if (rng_.chance(0.6)) read(live_session(owner), "exists", pick(mine), false);
    if (rng_.chance(0.2)) set_data(owner, pick(mine));  // SessionExpired, or it came back
  }

  // Sequential creates under a parent while its children are deleted and listed.
  void sequential_churn() {
    const std::string p = pick(parents_);
    ensure_exists(p, live_session());
    const size_t rounds = 1 + rng_.below(3);
    for (size_t r = 0; r < rounds; ++r) {
      const std::string s = live_session();
      create(s, p + "/s-", rng_.chance(0.3), true);
      const std::string d = live_session();
      std::vector<std::string> names = sequential_names(p, p + "/s-");
      remove(d, pick(names));
      if (rng_.chance(0.5)) read(live_session(), "get_children", p, rng_.chance(0.6));
    }
  }

  // A create or delete writes two records (the node's and its parent's) one after the other:
  // another session reads one of them, then the other, while it happens.
  void both_records_of_an_update() {
    const std::string p = pick(parents_);
    const std::string w = live_session();
    const std::string r = live_session(w);
    ensure_exists(p, w);
    const std::string x = p + "/" + pick(names_);
    if (exists(x)) {
      remove(w, x);
    } else {
      create(w, x, rng_.chance(0.3), false);
    }
    const bool child_first = rng_.chance(0.5);
    for (int i = 0; i < 2; ++i) {
      if ((i == 0) == child_first) {
        read(r, rng_.chance(0.5) ? "exists" : "get_data", x, rng_.chance(0.3));
      } else {
        read(r, "get_children", p, rng_.chance(0.3));
      }
    }
  }

  // A multi of one to four operations, often on each other's nodes: a create and then its
  // child, a delete and the same create again, a set_data and a check of the version it leaves.
  void multi() {
    const std::string s = live_session();
    json& st = add(s, "multi");
    json ops = json::array();
    ModelWrite w = make_write("multi", s, "");
    w.auth = ids_[s];
    std::string last;  // the previous operation's path
    const size_t n = 1 + weighted({2, 3, 2, 1});
    for (size_t i = 0; i < n; ++i) {
      json op;
      ModelWrite one;
      const bool follow = !last.empty() && rng_.chance(0.5);
      switch (weighted({4, 2, 3, 2})) {
        case 0: {
          const bool seq = rng_.chance(0.2);
          std::string p;
          if (seq) {
            p = pick(parents_) + "/s-";
          } else if (follow && validate_client_path(last).is_ok() && last.size() < 40) {
            p = (last == "/" ? "" : last) + "/" + pick(names_);  // a child of the last one
          } else {
            p = path(rng_.chance(0.7) ? 0 : -1);
          }
          op = {{"op", "create"}, {"path", p}};
          put_data(op);
          one.ephemeral = rng_.chance(0.2);
          one.sequential = seq;
          put_flags(op, one.ephemeral, seq, false);
          break;
        }
        case 1:
          op = {{"op", "delete"}, {"path", follow ? last : leaf_or_any()}};
          version(op, op["path"].get<std::string>());
          break;
        case 2:
          op = {{"op", "set_data"}, {"path", follow ? last : path(rng_.chance(0.8) ? 1 : -1)}};
          put_data(op);
          version(op, op["path"].get<std::string>());
          break;
        default:
          op = {{"op", "check"}, {"path", follow ? last : path(rng_.chance(0.8) ? 1 : -1)}};
          version(op, op["path"].get<std::string>());
          if (follow && rng_.chance(0.5)) op["version"] = op.value("version", 0) + 1;
          break;
      }
      one.op = op["op"].get<std::string>();
      one.path = op["path"].get<std::string>();
      one.version = op.value("version", -1);
      last = one.path;
      w.ops.push_back(std::move(one));
      ops.push_back(std::move(op));
    }
    st["ops"] = std::move(ops);
    apply(w);
  }

  // A session watches a subtree with a persistent (or persistent recursive) watch; others
  // change nodes in it, and its own node.
  void persistent_watch() {
    const std::string w = live_session();
    const std::string p = rng_.chance(0.8) ? pick(parents_) : rng_.chance(0.5) ? "/" : path(-1);
    json& st = add(w, "add_watch");
    st["path"] = p;
    ModelWrite aw = make_write("add_watch", w, p);
    aw.recursive = rng_.chance(0.5);
    if (aw.recursive) st["recursive"] = true;
    apply(aw);
    const size_t changes = 1 + rng_.below(3);
    for (size_t i = 0; i < changes; ++i) {
      std::string x = p;
      if (validate_client_path(p).is_ok() && rng_.chance(0.7))
        x = (p == "/" ? "" : p) + "/" + pick(names_);
      change(rng_.chance(0.8) ? live_session(w) : w, x);
    }
    if (rng_.chance(0.3)) read(w, "get_children", p, false);
  }

  // A container gets children and loses them (deleted, or the ephemerals of a session that
  // ends): the service deletes it, while others watch it and create in it.
  void container_churn() {
    const std::string s = live_session();
    std::string c = pick(parents_);
    if (exists(c)) c += "/k";
    ensure_exists(parent_path(c), s);
    if (!exists(c)) create(s, c, false, false, true);
    const std::string owner = live_session();
    const size_t k = 1 + rng_.below(2);
    std::vector<std::string> kids;
    for (size_t i = 0; i < k; ++i) {
      const std::string kid = c + "/" + pick(names_);
      const bool eph = owner != s && rng_.chance(0.5);
      create(eph ? owner : s, kid, eph, false);
      kids.push_back(kid);
    }
    if (rng_.chance(0.7))
      read(live_session(), rng_.chance(0.5) ? "exists" : "get_children", c, true);
    for (const std::string& kid : kids)
      if (rng_.chance(0.8)) remove(live_session(), kid);
    if (rng_.chance(0.3)) close(owner);
    if (rng_.chance(0.4)) create(live_session(), c + "/" + pick(names_), false, false);
    if (rng_.chance(0.5)) read(live_session(), "exists", c, rng_.chance(0.5));
  }

  // A session authenticates and guards a node with an ACL; others (some with the same user,
  // some with another, some with none) read it, list its ACL, write it, create and delete
  // under it and watch it; the owner may open it up again.
  void acl_guarded() {
    static const char* kUsers[] = {"alice:pw", "bob:pw", "alice:wrong"};
    const std::string owner = live_session();
    auth(owner, kUsers[0]);
    for (const std::string& s : sessions_)
      if (s != owner && rng_.chance(0.4)) auth(s, kUsers[rng_.below(3)]);
    const std::string p = pick(parents_);
    ensure_exists(parent_path(p) == "/" ? p : parent_path(p), owner);
    const std::string x = exists(p) ? p + "/" + pick(names_) : p;
    json& st = add(owner, "create");
    st["path"] = x;
    put_data(st);
    ModelWrite w = make_write("create", owner, x);
    w.acl = draw_acl();
    w.auth = ids_[owner];
    st["acl"] = acl_json(*w.acl);
    apply(w);
    const size_t tries = 2 + rng_.below(4);
    for (size_t i = 0; i < tries; ++i) {
      const std::string s = live_session();
      switch (weighted({3, 2, 2, 2, 1, 2, 1})) {
        case 0:
          read(s, "get_data", x, rng_.chance(0.3));
          break;
        case 1:
          read(s, "get_acl", x, false);
          break;
        case 2:
          set_data(s, x);
          break;
        case 3:
          if (exists(x + "/" + names_[0])) {
            remove(s, x + "/" + names_[0]);
          } else {
            create(s, x + "/" + names_[0], false, false);
          }
          break;
        case 4:
          read(s, "exists", x, true);
          break;
        case 5:
          read(s, "get_children", x, rng_.chance(0.3));
          break;
        default:
          remove(s, x);
          break;
      }
    }
    if (rng_.chance(0.5)) {
      const std::string s = rng_.chance(0.7) ? owner : live_session();
      json& sa = add(s, "set_acl");
      sa["path"] = x;
      ModelWrite a = make_write("set_acl", s, x);
      a.acl = rng_.chance(0.6) ? Acl{AclEntry{perm::kAll, "world", "anyone"}} : draw_acl();
      a.auth = ids_[s];
      sa["acl"] = acl_json(*a.acl);
      const ModelNode* n = model_.node(x);
      if (rng_.chance(0.5)) {
        sa["version"] = n ? n->stat.aversion + static_cast<int>(rng_.below(2)) : 0;
        a.version = sa["version"];
      }
      apply(a);
      if (rng_.chance(0.6)) read(live_session(), "get_data", x, false);
    }
  }

  void auth(const std::string& s, const std::string& user_password) {
    json& st = add(s, "add_auth");
    st["scheme"] = "digest";
    st["auth"] = user_password;
    if (gone_.count(s)) return;
    const Identity id = digest_identity(user_password);
    std::vector<Identity>& mine = ids_[s];
    if (std::find(mine.begin(), mine.end(), id) == mine.end()) mine.push_back(id);
    model_.set_identities(s, mine, mine);
  }

  // An ACL: mostly the session's own (auth) with some permissions for the world, sometimes a
  // digest id of another user, sometimes one ZooKeeper refuses (InvalidACL).
  Acl draw_acl() {
    auto perms = [&] { return static_cast<int32_t>(1 + rng_.below(31)); };
    switch (weighted({4, 3, 2, 1})) {
      case 0:
        return {AclEntry{perms(), "auth", ""}};
      case 1:
        return {AclEntry{perms(), "world", "anyone"}, AclEntry{perm::kAll, "auth", ""}};
      case 2:
        return {AclEntry{perms(), "digest", digest_identity("bob:pw").id},
                AclEntry{perm::kAll, "auth", ""}};
      default:
        return rng_.chance(0.5) ? Acl{AclEntry{perm::kRead, "digest", "nohash"}} : Acl{};
    }
  }

  void session_end() {
    const std::string s = live_session();
    if (!o_.comparable && rng_.chance(0.5)) {
      expire(s);
      if (rng_.chance(0.6)) wait(true);
    } else {
      close(s);
    }
    if (rng_.chance(0.3)) read(s, "exists", path(-1), false);  // after its end
  }

  std::string summary() const {
    std::string m = std::to_string(sessions_.size()) + " session" +
                    (sessions_.size() == 1 ? "" : "s") + ", " + std::to_string(steps_.size()) +
                    " steps, parents";
    for (const auto& p : parents_) m += " " + p;
    return m;
  }

  Rng rng_;
  GeneratorOptions o_;
  uint64_t seed_;
  bool sequential_ = true;
  json config_ = json::object();
  int64_t timeout_ms_ = 4000, heartbeat_ms_ = 1000;
  std::vector<std::string> sessions_;
  std::vector<std::string> parents_;
  std::vector<std::string> names_;
  json steps_ = json::array();
  size_t target_ = 0;
  ZooKeeperModel model_;
  int64_t zxid_ = 0;
  std::set<std::string> gone_;      // closed or expiring, as far as the generator knows
  std::set<std::string> expiring_;  // expire steps not yet waited out
  std::map<std::string, std::vector<Identity>> ids_;  // session -> identities (add_auth)
};

}  // namespace

uint64_t generated_scenario_seed(uint64_t seed, uint64_t index) {
  Rng r(seed ^ (0x5ce7a510ULL + index * 0x9e3779b97f4a7c15ULL));
  return r.next();
}

json generate_scenario_json(uint64_t seed, const GeneratorOptions& options) {
  GeneratorOptions o = options;
  o.max_sessions = std::clamp<size_t>(o.max_sessions, 1, 5);
  o.min_steps = std::max<size_t>(1, o.min_steps);
  o.max_steps = std::max(o.min_steps, o.max_steps);
  Generator g(seed, o);
  return g.build();
}

Scenario generate_scenario(uint64_t seed, const GeneratorOptions& options) {
  const json j = generate_scenario_json(seed, options);
  auto sc = parse_scenario(j);
  if (!sc.is_ok())
    throw std::logic_error("the workload generator drew an invalid scenario (seed " +
                           std::to_string(seed) + "): " + sc.status().message());
  return std::move(*sc);
}

std::vector<Scenario> generate_scenarios(uint64_t seed, size_t count,
                                         const GeneratorOptions& options) {
  std::vector<Scenario> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i)
    out.push_back(generate_scenario(generated_scenario_seed(seed, i), options));
  return out;
}

}  // namespace fkemu
