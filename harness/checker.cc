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
#include "harness/checker.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "core/text/base64.h"
#include "harness/zookeeper_model.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

constexpr int64_t kNone = std::numeric_limits<int64_t>::min();
constexpr int64_t kInf = std::numeric_limits<int64_t>::max();
constexpr size_t kNoLine = std::numeric_limits<size_t>::max();
constexpr size_t kMaxStatesPerFailedWrite = 64;
constexpr size_t kMaxCandidates = 4;

// The operations of the history format; Other is any other name (kept as written).
enum class OpKind : uint8_t {
  Create,
  SetData,
  Delete,
  Close,
  GetData,
  Exists,
  GetChildren,
  Expire,
  Other
};

OpKind op_kind(std::string_view op) {
  if (op == "create") return OpKind::Create;
  if (op == "set_data") return OpKind::SetData;
  if (op == "delete") return OpKind::Delete;
  if (op == "close") return OpKind::Close;
  if (op == "get_data") return OpKind::GetData;
  if (op == "exists") return OpKind::Exists;
  if (op == "get_children") return OpKind::GetChildren;
  if (op == "expire") return OpKind::Expire;
  return OpKind::Other;
}
bool is_write_op(OpKind k) {
  return k == OpKind::Create || k == OpKind::SetData || k == OpKind::Delete || k == OpKind::Close;
}
bool is_read_op(OpKind k) {
  return k == OpKind::GetData || k == OpKind::Exists || k == OpKind::GetChildren;
}
// Errors the server decides from the tree (a failed write must be one the model gives).
bool is_tree_error(std::string_view e) {
  return e == "NoNode" || e == "NodeExists" || e == "NotEmpty" || e == "BadVersion" ||
         e == "NoChildrenForEphemerals" || e == "BadArguments";
}
// Errors a closed session may still get: the client refuses these before looking at it.
bool is_client_side_error(std::string_view e) {
  return e == "BadArguments" || e == "MarshallingError";
}

// The model fires these four event types; a Fire keeps a view of the name, so it must outlive
// the model's result.
std::string_view event_name(const std::string& e) {
  for (std::string_view n :
       {"NodeCreated", "NodeDeleted", "NodeDataChanged", "NodeChildrenChanged"})
    if (e == n) return n;
  return "?";  // not reached: the model fires nothing else
}

// ---- reading JSON without copying ----------------------------------------------------------

// A view of a string member (empty when absent or not a string). It points into the history.
inline std::string_view str(const json* v) {
  const std::string* s = v ? v->get_ptr<const std::string*>() : nullptr;
  return s ? std::string_view(*s) : std::string_view();
}
int64_t num(const json* v, int64_t dflt = 0) {
  return v && v->is_number_integer() ? v->get<int64_t>() : dflt;
}
int64_t num(const json& j, const char* k, int64_t dflt = 0) {
  auto it = j.find(k);
  return it != j.end() ? num(&*it, dflt) : dflt;
}

// Calls visit(k, key, value) for every member of each of the n objects, walking them side by
// side. A walk over a JSON object waits on memory at every member; the processor overlaps the
// waits of independent walks (parse() reads the history this way, a batch of lines at a time).
constexpr size_t kBatch = 8;
template <typename Visit>
void walk_side_by_side(const std::array<const json::object_t*, kBatch>& objects, size_t n,
                       Visit visit) {
  std::array<json::object_t::const_iterator, kBatch> it, end;
  for (size_t k = 0; k < n; ++k) {
    it[k] = objects[k]->begin();
    end[k] = objects[k]->end();
  }
  for (bool more = true; more;) {
    more = false;
    for (size_t k = 0; k < n; ++k)
      if (it[k] != end[k]) {
        visit(k, std::string_view(it[k]->first), it[k]->second);
        ++it[k];
        more = true;
      }
  }
}

// Whether a member's key is `name` (a fixed-length compare the compiler inlines).
template <size_t N>
bool is_key(std::string_view key, const char (&name)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), name, N - 1) == 0;
}

// The members of a history line that parse() reads (strings as views, empty when absent or not
// strings; the others as pointers, null when absent).
struct Fields {
  std::string_view kind, session, op, path, error, event;
  const json *id = nullptr, *data = nullptr, *data_b64 = nullptr, *flags = nullptr,
             *watch = nullptr, *version = nullptr, *zxid = nullptr, *stat = nullptr,
             *children = nullptr;
};
void set_field(Fields* f, std::string_view key, const json& value) {
  const json* v = &value;
  switch (key.empty() ? '\0' : key[0]) {
    case 'k':
      if (is_key(key, "kind")) f->kind = str(v);
      break;
    case 'i':
      if (is_key(key, "id")) f->id = v;
      break;
    case 's':
      if (is_key(key, "session")) f->session = str(v);
      if (is_key(key, "stat")) f->stat = v;
      break;
    case 'o':
      if (is_key(key, "op")) f->op = str(v);
      break;
    case 'p':
      if (is_key(key, "path")) f->path = str(v);
      break;
    case 'd':
      if (is_key(key, "data")) f->data = v;
      if (is_key(key, "data_b64")) f->data_b64 = v;
      break;
    case 'c':
      if (is_key(key, "children")) f->children = v;
      break;
    case 'f':
      if (is_key(key, "flags")) f->flags = v;
      break;
    case 'w':
      if (is_key(key, "watch")) f->watch = v;
      break;
    case 'v':
      if (is_key(key, "version")) f->version = v;
      break;
    case 'e':
      if (is_key(key, "error")) f->error = str(v);
      if (is_key(key, "event")) f->event = str(v);
      break;
    case 'z':
      if (is_key(key, "zxid")) f->zxid = v;
      break;
    default:
      break;
  }
}

// One member of a stat, as stat_from_json reads it but tolerant of mistyped fields (a history
// under judgment may be anything): a field that is not an integer reads as 0.
void set_stat_field(Stat* s, std::string_view key, const json& value) {
  const int64_t n = num(&value);
  const auto n32 = static_cast<int32_t>(n);
  switch (key.empty() ? '\0' : key[0]) {
    case 'c':
      if (is_key(key, "czxid")) s->czxid = n;
      if (is_key(key, "ctime")) s->ctime = n;
      if (is_key(key, "cversion")) s->cversion = n32;
      break;
    case 'm':
      if (is_key(key, "mzxid")) s->mzxid = n;
      if (is_key(key, "mtime")) s->mtime = n;
      break;
    case 'p':
      if (is_key(key, "pzxid")) s->pzxid = n;
      break;
    case 'v':
      if (is_key(key, "version")) s->version = n32;
      break;
    case 'a':
      if (is_key(key, "aversion")) s->aversion = n32;
      break;
    case 'e':
      if (is_key(key, "ephemeralOwner") && value.is_string())
        s->ephemeral_owner = value.get_ref<const std::string&>();
      break;
    case 'd':
      if (is_key(key, "dataLength")) s->data_length = n32;
      break;
    case 'n':
      if (is_key(key, "numChildren")) s->num_children = n32;
      break;
    default:
      break;
  }
}

// Whether stat_diff(got, want) is empty (it compares the ephemeral owners as "null" when unset).
bool same_stat(const Stat& got, const Stat& want) {
  const auto owner = [](const Stat& s) {
    return s.ephemeral_owner ? std::string_view(*s.ephemeral_owner) : std::string_view("null");
  };
  return got.czxid == want.czxid && got.mzxid == want.mzxid && got.pzxid == want.pzxid &&
         got.ctime == want.ctime && got.mtime == want.mtime && got.version == want.version &&
         got.cversion == want.cversion && got.aversion == want.aversion &&
         owner(got) == owner(want) && got.data_length == want.data_length &&
         got.num_children == want.num_children;
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

// Strings interned to dense ids 0, 1, 2, ... in order of first sight. The names are stored
// once (a deque: they never move) and can be handed to the model; the index is an open
// addressing table of (hash, id).
class Names {
 public:
  int id(std::string_view s) {
    if (2 * (names_.size() + 1) > slots_.size()) grow();
    const size_t h = std::hash<std::string_view>{}(s);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& x = slots_[i];
      if (x.id < 0) {
        x = Slot{h, size()};
        names_.emplace_back(s);
        return x.id;
      }
      if (x.hash == h && names_[x.id] == s) return x.id;
    }
  }
  int find(std::string_view s) const {  // -1: never interned
    if (slots_.empty()) return -1;
    const size_t h = std::hash<std::string_view>{}(s);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& x = slots_[i];
      if (x.id < 0) return -1;
      if (x.hash == h && names_[x.id] == s) return x.id;
    }
  }
  const std::string& operator[](int k) const { return names_[static_cast<size_t>(k)]; }
  int size() const { return static_cast<int>(names_.size()); }

 private:
  struct Slot {
    size_t hash = 0;
    int id = -1;  // -1: free
  };
  void grow() {
    slots_.assign(std::max<size_t>(16, 2 * slots_.size()), Slot{});
    for (int k = 0; k < size(); ++k) {
      const size_t h = std::hash<std::string_view>{}(names_[k]);
      size_t i = h & (slots_.size() - 1);
      while (slots_[i].id >= 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = Slot{h, k};
    }
  }
  std::deque<std::string> names_;
  std::vector<Slot> slots_;
};

// A hash map from 64-bit keys, open addressing with linear probing in one array: no
// allocation per entry (the largest maps have an entry per invocation, or per session and node).
template <typename V>
class FlatMap {
 public:
  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t i = slot_of(key);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.key == key) return &s.value;
    }
  }
  // The value of `key`, inserted as V{} when absent.
  V& operator[](uint64_t key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    size_t i = slot_of(key);
    for (; slots_[i].used; i = (i + 1) & (slots_.size() - 1))
      if (slots_[i].key == key) return slots_[i].value;
    ++size_;
    slots_[i].used = true;
    slots_[i].key = key;
    return slots_[i].value;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    bool used = false;
    V value{};
  };
  size_t slot_of(uint64_t k) const {  // a 64-bit mix (murmur3's finaliser), then the low bits
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<size_t>(k) & (slots_.size() - 1);
  }
  void grow() {
    std::vector<Slot> old =
        std::exchange(slots_, std::vector<Slot>(std::max<size_t>(16, 2 * slots_.size())));
    size_ = 0;
    for (Slot& s : old)
      if (s.used) (*this)[s.key] = std::move(s.value);
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// Invocation id -> index into ops_. Ids are usually 0, 1, 2, ...: those below a limit index a
// vector, any others a hash map.
class IdIndex {
 public:
  size_t find(int64_t id) const {  // kNoLine: none
    if (dense(id)) {
      const auto i = static_cast<size_t>(id);
      return i < dense_.size() && dense_[i] > 0 ? dense_[i] - 1 : kNoLine;
    }
    const size_t* k = sparse_.find(static_cast<uint64_t>(id));
    return k ? *k : kNoLine;
  }
  void insert(int64_t id, size_t k) {
    if (dense(id)) {
      const auto i = static_cast<size_t>(id);
      if (i >= dense_.size()) dense_.resize(i + 1, 0);
      dense_[i] = k + 1;
    } else {
      sparse_[static_cast<uint64_t>(id)] = k;
    }
  }
  void set_limit(size_t limit) { limit_ = limit; }

 private:
  bool dense(int64_t id) const { return id >= 0 && static_cast<uint64_t>(id) < limit_; }
  size_t limit_ = 0;
  std::vector<size_t> dense_;  // index + 1; 0: none
  FlatMap<size_t> sparse_;
};

// (session, path) as one key.
uint64_t pair_key(int session, int path) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(session)) << 32) |
         static_cast<uint32_t>(path);
}

// A value per (session, path): a dense table of sessions x paths entries when that is no
// larger than `limit`, else a hash map.
template <typename V>
class PairTable {
 public:
  PairTable(int sessions, int paths, size_t limit) : paths_(static_cast<size_t>(paths)) {
    const size_t n = static_cast<size_t>(sessions) * paths_;
    if (n <= limit) dense_.resize(n);
  }
  const V* find(int session, int path) const {  // (dense: every entry exists, V{} at first)
    return dense_.empty() ? sparse_.find(pair_key(session, path)) : &dense_[index(session, path)];
  }
  V& at(int session, int path) {  // inserted as V{} when absent
    return dense_.empty() ? sparse_[pair_key(session, path)] : dense_[index(session, path)];
  }

 private:
  size_t index(int session, int path) const {
    return static_cast<size_t>(session) * paths_ + static_cast<size_t>(path);
  }
  size_t paths_;
  std::vector<V> dense_;
  FlatMap<V> sparse_;
};

// ---- the history, parsed ------------------------------------------------------------------

struct Op {
  // The invocation.
  int64_t id = 0;
  std::string_view op;     // the operation's name, as the history spells it
  std::string_view bytes;  // a write's data (data, or data_b64 decoded); get_data: the answer's
  size_t invoke = 0;
  int session = 0;  // session id
  int path = 0;     // path id (the empty path when the line has none)
  int32_t version = -1;
  uint32_t seq = 0;  // position among its session's invocations
  OpKind kind = OpKind::Other;
  bool ephemeral = false, sequential = false, watch = false;
  // The answer, as parse() read it (later passes do not look at the history's JSON again).
  bool ok = false;
  bool stat_null = false;  // its "stat" is null (exists: no such node)
  int stat = -1;           // index into stats_ when its "stat" is an object
  int created = -1;        // an ok create: its "path", the node created
  size_t answer = kNoLine;
  std::string_view error;          // its error name
  const json* children = nullptr;  // get_children: its "children"
  int64_t zxid = kNone;            // a committed write's zxid
  int64_t answered_max = 0;        // highest write zxid answered before this invoke
  // Filled in history order (pass 2).
  int64_t seen = 0, seen_node = 0;  // the session's last seen zxid, and of this node
  size_t seen_line = kNoLine, seen_node_line = kNoLine;
  int64_t reflects = kNone;  // the oldest zxid the answer's state can be from
  bool answered() const { return answer != kNoLine; }
  bool committed() const { return zxid != kNone; }
};

struct WatchLine {
  size_t line;
  int session;
  std::string_view event;
  int path;
  int64_t zxid;
};

// What a line of the history is to the pass in history order; lines of no role are skipped.
struct Role {
  enum Kind : uint8_t { Invoke, Answer, Watch } kind;
  uint32_t index;  // into ops_ (Invoke, Answer) or watches_ (Watch)
};

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
};

struct Registration {
  int op = 0;
  WatchKind kind = WatchKind::Data;
  // Its candidates and their fires: Checker::cands_ and fires_ [first, first + count).
  uint32_t first = 0, count = 0;
  int matched_line = -1;  // index into watch lines
  int matched_candidate = -1;
};

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
    // The excerpt is in history order: the order in which a caller lists lines is free.
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

// First index k >= from with value[k] >= z, over a fixed array (a segment tree of maxima:
// node i covers its children 2i and 2i+1, the leaves are the values, padded with kNone).
class FirstAtLeast {
 public:
  explicit FirstAtLeast(const std::vector<int64_t>& v)
      : n_(v.size()),
        leaves_(std::bit_ceil(std::max<size_t>(v.size(), 1))),
        max_(2 * leaves_, kNone) {
    std::copy(v.begin(), v.end(), max_.begin() + static_cast<std::ptrdiff_t>(leaves_));
    for (size_t i = leaves_ - 1; i >= 1; --i) max_[i] = std::max(max_[2 * i], max_[2 * i + 1]);
  }
  size_t find(size_t from, int64_t z) const {
    if (from >= n_) return kNoLine;
    // Up from the leaf `from` to the first subtree at or right of it that holds a value >= z,
    size_t i = from + leaves_;
    while (max_[i] < z) {
      while (i & 1) i >>= 1;  // a right child: its parent's right neighbour comes next
      if (i == 0) return kNoLine;
      ++i;
    }
    // then down to that subtree's leftmost such leaf.
    while (i < leaves_) {
      i *= 2;
      if (max_[i] < z) ++i;
    }
    const size_t k = i - leaves_;
    return k < n_ ? k : kNoLine;
  }

 private:
  size_t n_, leaves_;
  std::vector<int64_t> max_;
};

class Checker {
 public:
  // `forced`: where the closes of expired sessions are (session -> zxid, kNone: none), instead
  // of inferring them from the evidence.
  Checker(const Scenario& sc, const std::vector<json>& h, const std::vector<SilentStop>& silent,
          const std::vector<FaultWindow>& faults,
          const std::map<std::string, int64_t>* forced = nullptr)
      : sc_(sc), h_(h), rep_(h), silent_stops_(silent), faults_(faults), forced_(forced) {
    std::sort(faults_.begin(), faults_.end(),
              [](const FaultWindow& x, const FaultWindow& y) { return x.t < y.t; });
  }

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

  std::vector<Violation> run() {
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

  const std::string& name(int session) const { return sessions_[session]; }
  const std::string& path_of(int path) const { return paths_[path]; }
  std::string op_path(const Op& o) const { return std::string(o.op) + " " + path_of(o.path); }

  // The model's form of a write (into *w, reusing its strings' storage).
  void write_of(const Op& o, ModelWrite* w) const {
    w->op.assign(o.op);
    w->session = name(o.session);
    w->path = path_of(o.path);
    w->data.assign(o.bytes);
    w->ephemeral = o.ephemeral;
    w->sequential = o.sequential;
    w->version = o.version;
  }

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

  NodeView view_at(const Timeline* t, int64_t z) const {
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
    return v;
  }
  bool exists_at(std::string_view path, int64_t z) const {
    const Timeline* t = timeline_named(path);
    if (!t) return false;
    const int k = version_at(*t, z);
    return k >= 0 && (*t)[k].exists;
  }

  // Absent states of `path` that intersect [lo, hi], at most kMaxCandidates.
  Candidates absent_candidates(int path, int64_t lo, int64_t hi) const {
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

  // ---- pass 0: parse ---------------------------------------------------------------------

  // The op whose answer first raised answered_max_ to z.
  size_t answered_by(int64_t z) const {
    auto it = std::lower_bound(answered_by_zxid_.begin(), answered_by_zxid_.end(),
                               std::make_pair(z, size_t{0}));
    return it->second;
  }

  // A line's bytes: `data`, else `data_b64` decoded, else empty. They are copied into bytes_
  // (the replays read them in zxid order, and the history's JSON is far away by then).
  std::string_view bytes_of(const Fields& f) {
    if (f.data && f.data->is_string()) {
      const std::string_view d = str(f.data);
      return d.empty() ? d : bytes_.emplace_back(d);
    }
    if (f.data_b64 && f.data_b64->is_string())
      return bytes_.emplace_back(base64_decode(str(f.data_b64)).value_or(std::string()));
    return {};
  }

  void parse() {
    // (Reserving for the most a history of this length can need costs address space only.)
    ops_.reserve(h_.size() / 2 + 1);
    stats_.reserve(h_.size() / 2 + 1);
    by_id_.set_limit(2 * h_.size() + 64);
    roles_.reserve(h_.size());
    for (size_t first = 0; first < h_.size(); first += kBatch) {
      // Read a batch of lines (and their stats) side by side, then take them in order.
      const size_t n = std::min(kBatch, h_.size() - first);
      std::array<Fields, kBatch> fields{};
      std::array<Stat, kBatch> stats{};
      std::array<const json::object_t*, kBatch> objects{};
      std::array<size_t, kBatch> of{};  // the batch line of each object walked
      size_t m = 0;
      for (size_t b = 0; b < n; ++b)
        if (h_[first + b].is_object()) {
          of[m] = b;
          objects[m++] = &h_[first + b].get_ref<const json::object_t&>();
        }
      walk_side_by_side(objects, m, [&](size_t k, std::string_view key, const json& v) {
        set_field(&fields[of[k]], key, v);
      });
      m = 0;
      for (size_t b = 0; b < n; ++b)
        if (const json* st = fields[b].stat; st && st->is_object()) {
          of[m] = b;
          objects[m++] = &st->get_ref<const json::object_t&>();
        }
      walk_side_by_side(objects, m, [&](size_t k, std::string_view key, const json& v) {
        set_stat_field(&stats[of[k]], key, v);
      });
      for (size_t b = 0; b < n; ++b)
        if (h_[first + b].is_object()) parse_line(first + b, fields[b], &stats[b]);
    }
    last_t_ = h_.empty() ? 0 : line_t(h_.size() - 1);
    // Every session id (also those only watch lines name) has its list of invocations.
    session_ops_.resize(static_cast<size_t>(sessions_.size()));
    by_name_.resize(sessions_.size());
    for (int s = 0; s < sessions_.size(); ++s) by_name_[s] = s;
    std::sort(by_name_.begin(), by_name_.end(), [&](int x, int y) { return name(x) < name(y); });
  }

  // One line of the history; `stat`: its "stat" member read, when that is an object.
  void parse_line(size_t i, const Fields& f, Stat* stat) {
    const std::string_view kind = f.kind;
    if (kind == "invoke") {
      const int64_t id = num(f.id, -1);
      const int session = sessions_.id(f.session);
      if (const size_t d = by_id_.find(id); d != kNoLine) {
        rep_.add("G2", "invocation id " + std::to_string(id) + " is used twice", {name(session)},
                 {id}, {}, {ops_[d].invoke, i});
        return;
      }
      const size_t k = ops_.size();
      Op& o = ops_.emplace_back();
      o.id = id;
      o.session = session;
      o.op = f.op;
      o.kind = op_kind(o.op);
      o.path = paths_.id(f.path);
      o.bytes = bytes_of(f);
      if (f.flags && f.flags->is_array())
        for (const auto& x : *f.flags) {
          if (str(&x) == "ephemeral") o.ephemeral = true;
          if (str(&x) == "sequential") o.sequential = true;
        }
      o.watch = f.watch && f.watch->is_boolean() && f.watch->get<bool>();
      o.version = static_cast<int32_t>(num(f.version, -1));
      o.invoke = i;
      o.answered_max = answered_max_;
      std::vector<int>& sess = ops_of(o.session);
      o.seq = static_cast<uint32_t>(sess.size());
      by_id_.insert(o.id, k);
      sess.push_back(static_cast<int>(k));
      if (in_order_.size() <= static_cast<size_t>(o.session)) in_order_.resize(o.session + 1);
      if (!in_order_[o.session]) {
        in_order_[o.session] = true;
        session_order_.push_back(o.session);
      }
      roles_.push_back(Role{Role::Invoke, static_cast<uint32_t>(k)});
    } else if (kind == "ok" || kind == "error") {
      const int64_t id = num(f.id, -1);
      const size_t k = by_id_.find(id);
      if (k == kNoLine) {
        rep_.add("G2", "answer to id " + std::to_string(id) + " that was never invoked",
                 {std::string(f.session)}, {id}, {}, {i});
        return;
      }
      Op& o = ops_[k];
      if (o.answered()) {
        rep_.add("G2", "id " + std::to_string(o.id) + " is answered twice", {name(o.session)},
                 {o.id}, {}, {o.invoke, o.answer, i});
        return;
      }
      o.answer = i;
      o.ok = kind == "ok";
      o.error = f.error;
      if (f.stat && f.stat->is_object()) {
        o.stat = static_cast<int>(stats_.size());
        stats_.push_back(std::move(*stat));
      }
      o.stat_null = f.stat && f.stat->is_null();
      if (o.ok && o.kind == OpKind::Create) o.created = paths_.id(f.path);
      if (o.kind == OpKind::GetData) o.bytes = bytes_of(f);
      if (o.kind == OpKind::GetChildren) o.children = f.children;
      roles_.push_back(Role{Role::Answer, static_cast<uint32_t>(k)});
      if (o.ok && is_write_op(o.kind)) {
        const bool stat_object = f.stat && f.stat->is_object();
        if (f.zxid && f.zxid->is_number_integer()) {
          o.zxid = f.zxid->get<int64_t>();
        } else if (o.kind == OpKind::Create && stat_object) {
          o.zxid = num(*f.stat, "czxid", kNone);
        } else if (o.kind == OpKind::SetData && stat_object) {
          o.zxid = num(*f.stat, "mzxid", kNone);
        } else if (o.kind == OpKind::Delete) {
          rep_.add("G1",
                   "delete of " + path_of(o.path) + " answered ok without the zxid of its update",
                   {name(o.session)}, {o.id}, {}, {o.invoke, o.answer});
        }
        if (o.committed()) {
          // Real time: every write answered before this one was invoked has a smaller zxid.
          if (o.answered_max > 0 && o.zxid <= o.answered_max) {
            const Op& before = ops_[answered_by(o.answered_max)];
            rep_.add("G1",
                     op_path(o) + " got zxid " + std::to_string(o.zxid) + ", not above zxid " +
                         std::to_string(o.answered_max) + " of " + op_path(before) + " (id " +
                         std::to_string(before.id) + "), answered before it was invoked",
                     {name(o.session), name(before.session)}, {o.id, before.id},
                     {o.zxid, before.zxid}, {o.invoke, o.answer, before.answer});
          }
          if (o.zxid > answered_max_) {
            answered_max_ = o.zxid;
            answered_by_zxid_.emplace_back(o.zxid, k);
          }
        }
      }
    } else if (kind == "watch") {
      roles_.push_back(Role{Role::Watch, static_cast<uint32_t>(watches_.size())});
      watches_.push_back(
          WatchLine{i, sessions_.id(f.session), f.event, paths_.id(f.path), num(f.zxid)});
    }
  }

  // ---- G2 and G10 ------------------------------------------------------------------------

  void order_checks() {
    // Per session, its answered invocations in answer order (the history's).
    std::vector<std::vector<int>> answers(session_ops_.size());
    for (const Role& role : roles_)
      if (role.kind == Role::Answer)
        answers[ops_[role.index].session].push_back(static_cast<int>(role.index));
    for (int s : by_name_) {
      const std::vector<int>& list = ops_of(s);
      // Answers in invocation order.
      const std::vector<int>& answered = answers[s];
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
            rep_.add(
                "G2",
                "session " + name(s) + " got the answer to id " + std::to_string(o.id) + " (" +
                    std::string(o.op) + ") before the answer to id " + std::to_string(older.id) +
                    " (" + std::string(older.op) + "), which it invoked first",
                {name(s)}, {older.id, o.id}, {}, {older.invoke, o.invoke, o.answer, older.answer});
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
                   "session " + name(s) + " issued " + op_path(p) + " (zxid " +
                       std::to_string(p.zxid) + ") before " + op_path(o) + " (zxid " +
                       std::to_string(o.zxid) + "), but they took effect in the other order",
                   {name(s)}, {p.id, o.id}, {p.zxid, o.zxid},
                   {p.invoke, p.answer, o.invoke, o.answer});
        }
        if (last < 0 || o.zxid > ops_[last].zxid) last = k;
      }
    }
    for (const Op& o : ops_)
      if (!o.answered())
        rep_.add("G10",
                 "id " + std::to_string(o.id) + " (" + name(o.session) + " " + std::string(o.op) +
                     (path_of(o.path).empty() ? "" : " " + path_of(o.path)) +
                     ") was never answered",
                 {name(o.session)}, {o.id}, {}, {o.invoke});
  }

  // ---- committed writes and inferred closes -----------------------------------------------

  void collect_commits() {
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
                 "two writes committed with zxid " + std::to_string(o.zxid) + ": " +
                     op_path(first) + " (id " + std::to_string(first.id) + ") and " + op_path(o) +
                     " (id " + std::to_string(o.id) + ")",
                 {name(first.session), name(o.session)}, {first.id, o.id}, {o.zxid},
                 {first.answer, o.answer});
        o.zxid = kNone;
        continue;
      }
      known_.push_back(k);
      known_zxids_.push_back(o.zxid);
      last_commit_[o.session] = std::max(last_commit_[o.session], o.zxid);
    }

    // Committed zxids are usually consecutive: then a bitmap over their range answers
    // known_zxid() (else a binary search does).
    if (!known_zxids_.empty()) {
      const uint64_t range =
          static_cast<uint64_t>(known_zxids_.back()) - static_cast<uint64_t>(known_zxids_.front());
      if (range < 64 * known_zxids_.size()) {
        known_bits_.assign(range + 1, false);
        for (int64_t z : known_zxids_)
          known_bits_[static_cast<uint64_t>(z) - static_cast<uint64_t>(known_zxids_.front())] =
              true;
      }
    }

    // Zxids the history shows that no answer names: closes by the heartbeat.
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

  // The first line at or after virtual time t. Lines are not always in time order (a
  // sequential step's events are recorded session by session once the step is over), so this
  // looks at them one by one; it is asked once per silent stop.
  size_t first_line_at(int64_t t) const {
    for (size_t i = 0; i < h_.size(); ++i)
      if (line_t(i) >= t) return i;
    return h_.size();
  }

  // Whether an op's answer says anything about its session being alive: an expire step does
  // not, nor an answer the client gave without asking the service (BadArguments,
  // MarshallingError), nor one never given.
  bool tells_liveness(const Op& o) const {
    return o.kind != OpKind::Expire && o.answered() && (o.ok || !is_client_side_error(o.error));
  }

  void infer_closes() {
    const int64_t grace = expiry_span();
    auto expired_by = [](const Op* next) {
      return next->answered() && (next->error == "SessionExpired" ||
                                  (next->kind == OpKind::Close && next->ok && !next->committed()));
    };
    // A session that recorded an event for zxid z still had its watches at z: its close came
    // later (the close removes them first, ZooKeeper's and FaaSKeeper's alike).
    event_lb_.assign(sessions_.size(), 0);
    for (const WatchLine& w : watches_)
      event_lb_[static_cast<size_t>(w.session)] =
          std::max(event_lb_[static_cast<size_t>(w.session)], w.zxid);
    // The highest zxid shown by the lines before each line: an expiry that began at a line
    // commits its close after every zxid shown before it (zxids are handed out in order).
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
    std::sort(shown.begin(), shown.end());
    for (size_t k = 1; k < shown.size(); ++k)
      shown[k].second = std::max(shown[k].second, shown[k - 1].second);
    auto shown_before = [&](size_t line) -> int64_t {
      auto it = std::lower_bound(shown.begin(), shown.end(), std::make_pair(line, kNone));
      return it == shown.begin() ? 0 : std::prev(it)->second;
    };
    for (int s : session_order_) {
      const std::vector<int>& list = ops_of(s);
      int64_t lb = event_lb_[static_cast<size_t>(s)];
      // A silent stop (an injected fault the history does not show) before the i-th op is
      // judged as an expire step at its time: it expired if the next op was answered so, or
      // if nothing followed for longer than the timeout. Ops invoked at the stop's very time
      // count as before it. Returns true once it made a candidate.
      const std::vector<int64_t>* stops =
          static_cast<size_t>(s) < silent_.size() ? &silent_[static_cast<size_t>(s)] : nullptr;
      size_t next_stop = 0;
      auto silent_before = [&](size_t i) {
        while (stops && next_stop < stops->size() &&
               (i == list.size() || (*stops)[next_stop] < line_t(ops_[list[i]].invoke))) {
          const int64_t t = (*stops)[next_stop++];
          const Op* next = nullptr;
          for (size_t j = i; j < list.size() && !next; ++j)
            if (tells_liveness(ops_[list[j]])) next = &ops_[list[j]];
          ExpiryCandidate c;
          c.session = s;
          c.invoke = first_line_at(t);
          c.lb = std::max(lb, shown_before(c.invoke));
          // No expiry deadline: the faults of such a run may delay the heartbeat and the
          // writer queue (a lost delete holds the queue for a visibility timeout).
          c.expire_t = kNone;
          if (!next) {
            const int64_t by = deadline(t, grace);
            c.definite = last_t_ > by;  // silent to the end: expired, given the time
            if (c.definite) c.proof = first_line_at(by);
          } else if (expired_by(next)) {
            c.definite = true;
            c.proof = next->answer;
          } else {
            continue;  // it came back before it expired
          }
          expiry_.push_back(c);
          return true;
        }
        return false;
      };
      bool decided = false;
      for (size_t i = 0; i < list.size() && !decided; ++i) {
        if (silent_before(i)) {
          decided = true;
          break;
        }
        const Op& o = ops_[list[i]];
        if (o.kind == OpKind::Close && o.committed()) {
          decided = true;
          break;
        }
        if (o.committed()) lb = std::max(lb, o.zxid);
        const bool expired_answer =
            o.answered() &&
            (o.error == "SessionExpired" || (o.kind == OpKind::Close && o.ok && !o.committed()));
        if (o.kind == OpKind::Expire && o.answered()) {
          const Op* next = nullptr;
          for (size_t j = i + 1; j < list.size() && !next; ++j)
            if (tells_liveness(ops_[list[j]])) next = &ops_[list[j]];
          ExpiryCandidate c;
          c.session = s;
          c.lb = std::max({lb, o.answered_max, shown_before(o.invoke)});
          c.invoke = o.invoke;
          c.expire_t = line_t(o.invoke);
          if (!next) {
            const int64_t by = deadline(c.expire_t, grace);
            c.definite = last_t_ > by;
            if (c.definite) c.proof = first_line_at(by);
          } else if (expired_by(next)) {
            c.definite = true;
            c.proof = next->answer;
          } else {
            continue;  // it came back before it expired
          }
          expiry_.push_back(c);
          decided = true;
          break;
        }
        if (expired_answer) {
          ExpiryCandidate c;
          c.session = s;
          c.lb = lb;
          c.definite = true;
          c.proof = o.answer;
          expiry_.push_back(c);
          decided = true;
          break;
        }
      }
      if (!decided) silent_before(list.size());
    }

    if (forced_) {
      assign_forced();
    } else {
      assign_from_evidence();
    }
    build_commits();
  }

  // The closes of expired sessions, from what the lines show: at each zxid no answer names,
  // whose close it was; then the definite expiries nothing showed.
  void assign_from_evidence() {
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
        (void)apply_commit(m, c, &scratch);
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
      std::set<std::string> owners;
      for (const auto& [line, path] : ev.deleted)
        if (const ModelNode* n = m.node(path_of(path)); n && n->stat.ephemeral_owner)
          if (may_close(*n->stat.ephemeral_owner)) owners.insert(*n->stat.ephemeral_owner);
      // A listing of the children right after u names the ephemerals u deleted exactly.
      if (owners.empty())
        for (const auto& [path, listed] : ev.listings)
          if (const ModelNode* n = m.node(path_of(path)))
            for (const std::string& child : n->children) {
              const ModelNode* c = m.node(child_path(path_of(path), child));
              if (!c || !c->stat.ephemeral_owner || !may_close(*c->stat.ephemeral_owner)) continue;
              bool still = false;
              for (const auto& listed_child : *listed) still = still || listed_child == child;
              if (!still) owners.insert(*c->stat.ephemeral_owner);
            }
      if (owners.empty() && ev.listings.empty())
        for (const auto& [line, path] : ev.stats)
          if (const ModelNode* n = m.node(path_of(path)))
            for (const std::string& child : n->children)
              if (const ModelNode* c = m.node(child_path(path_of(path), child));
                  c && c->stat.ephemeral_owner && may_close(*c->stat.ephemeral_owner))
                owners.insert(*c->stat.ephemeral_owner);
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
      (void)m.close_session(name(who), u);
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
    // A definite expiry nothing showed: at the first zxid no write uses.
    std::set<int64_t> taken;  // zxids given to such closes
    auto used = [&](int64_t z) { return known_zxid(z) || unknown_.count(z) || taken.count(z); };
    for (auto& c : expiry_) {
      if (c.assigned || !c.definite) continue;
      int64_t z = c.lb + 1;
      while (used(z)) ++z;
      taken.insert(z);
      place_close(c, z, false);  // a guess: a search tries the others if it shows violations
    }
    maybe_expired_.assign(sessions_.size(), false);
    for (const auto& c : expiry_)
      if (!c.assigned) maybe_expired_[c.session] = true;
  }

  // The closes as given (check_history's search over other explanations).
  void assign_forced() {
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
  void place_close(ExpiryCandidate& c, int64_t z, bool certain) {
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

 public:
  // Where else each expiring session's close could be, for check_history's search: every zxid
  // above the session's lower bound that no committed write uses, up to the highest zxid the
  // history shows, then past all of them (one slot per expiring session, so that those closes
  // can come in any order); and no close at all if its expiry is not certain.
  std::vector<std::pair<std::string, std::vector<int64_t>>> close_options() const {
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

 private:
  void build_commits() {
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

  // Reused between writes: the model's form of the write and the created name the system
  // answered.
  struct Scratch {
    ModelWrite write;
    std::string observed;
  };

  ModelWriteResult apply_commit(ZooKeeperModel& m, const Commit& c, Scratch* s) const {
    if (c.op < 0) return m.close_session(name(c.session), c.zxid);
    const Op& o = ops_[c.op];
    int64_t t = 0;
    if (o.stat >= 0) t = o.kind == OpKind::Create ? stats_[o.stat].ctime : stats_[o.stat].mtime;
    write_of(o, &s->write);
    if (o.kind != OpKind::Create) return m.apply(s->write, c.zxid, t, nullptr);
    s->observed = path_of(o.created);
    return m.apply(s->write, c.zxid, t, &s->observed);
  }

  // ---- pass B: replay the committed writes (G1, G9) ---------------------------------------

  void replay_writes() {
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
    for (size_t k = 0; k < commits_.size(); ++k) {
      const Commit& c = commits_[k];
      const ModelWriteResult r = apply_commit(m, c, &scratch);
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
        } else if (o.kind == OpKind::Create || o.kind == OpKind::SetData) {
          if (o.kind == OpKind::Create) {
            const std::string& got = path_of(o.created);
            if (o.sequential) {
              check_sequential(m, o, got, r.path, before, &last_suffix);
            } else if (got != r.path) {
              rep_.add("G1", "create " + path_of(o.path) + " answered path " + got,
                       {name(o.session)}, {o.id}, {c.zxid}, lines());
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
      for (const std::string& p : r.changed)
        snapshot(m, changed_id(c, p), c.zxid, static_cast<int>(k));
    }
    for (Timeline& t : timelines_) {
      int next = -1;
      for (int k = static_cast<int>(t.size()) - 1; k >= 0; --k) {
        if (!t[k].exists) next = k;
        t[k].next_absent = next;
      }
    }
  }

  // The id of a path a commit changed: mostly the write's own node, whose id is at hand.
  int changed_id(const Commit& c, const std::string& path) {
    if (c.op >= 0) {
      const Op& o = ops_[c.op];
      if (path == path_of(o.path)) return o.path;
      if (o.created >= 0 && path == path_of(o.created)) return o.created;
    }
    return paths_.id(path);
  }

  void snapshot(const ZooKeeperModel& m, int path, int64_t z, int commit) {
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
    }
  }

  // Per parent node incarnation (its path and czxid): the last sequential suffix, and its line.
  using LastSuffix = std::map<std::pair<int, int64_t>, std::pair<int64_t, size_t>>;

  void check_sequential(const ZooKeeperModel& m, const Op& o, std::string_view got,
                        const std::string& want, size_t touched_line, LastSuffix* last_suffix) {
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
      problem = "has suffix " + std::string(suffix) +
                ", but the parent's child-create count gives " + want.substr(path.size());
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
               {name(o.session)}, {o.id}, {o.zxid},
               {o.invoke, o.answer, touched_line, earlier_line});
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
          if (o.kind != OpKind::Close) seen_node.at(o.session, path).raise(o.zxid, i);
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

  void judge_read(int k) {
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
                       " as missing after it had seen it exist (zxid " +
                       std::to_string(o.seen_node) + "); it exists from then until the read",
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
            it->stat.mzxid == got.mzxid && it->stat.pzxid == got.pzxid)
          v = static_cast<int>(it - t->begin());
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

  // Whether a get_children answer lists exactly the children of `x`, the state of `path` it
  // names: distinct names, as many as numChildren, each a node at that zxid.
  bool children_match(const json* ch, const std::string& path, const Version& x) const {
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
  void add_registration(int k, const Candidates& candidates) {
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
  std::span<const Candidate> candidates_of(const Registration& r) const {
    return {cands_.data() + r.first, r.count};
  }
  std::span<const Fire> fires_of(const Registration& r) const {
    return {fires_.data() + r.first, r.count};
  }

  // Absent states of `path` around a read that found none in its window: the last one before
  // `lo` and those after it.
  Candidates nearest_absent(int path, int64_t lo) const {
    const Timeline* t = timeline(path);
    if (!t) return absent_candidates(path, lo, kInf);
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
    const int64_t expiry_deadline =
        c.expire_t == kNone ? kInf : deadline(c.expire_t, expiry_span());
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
             {name(o.session), name(c.session)}, {o.id, c.op >= 0 ? ops_[c.op].id : kNone},
             {c.zxid},
             {o.invoke, o.answer, c.answer, c.op >= 0 ? ops_[c.op].invoke : kNoLine,
              seen_after ? o.seen_line : kNoLine});
    return true;
  }

  void judge_failed_write(const Op& o) {
    const int64_t lo = std::max(o.answered_max, o.seen);
    const int64_t hi = std::max(lo, committed_bound(o.answer));
    ModelWrite& w = failed_write_;
    write_of(o, &w);
    auto answer_at = [&](int64_t z) {  // what the model answers at zxid z
      return ZooKeeperModel::check(
          w, [&](const std::string& p) { return view_at(timeline_named(p), z); });
    };
    // Mostly it failed as it does at the oldest state it can have met, the first one below.
    const std::string at_lo = answer_at(lo);
    if (at_lo == o.error) return;
    std::array<const Timeline*, 2> nodes = {timeline(o.path), nullptr};
    if (o.kind == OpKind::Create && (o.sequential || w.path != "/"))
      nodes[1] = timeline_named(parent_path(o.sequential ? w.path + "0" : w.path));
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
      const std::string e = z == lo ? at_lo : answer_at(z);
      if (e == o.error) return;
      answers.insert(e.empty() ? "ok" : e);
    }
    if (truncated) return;  // it may be one of the states not looked at
    std::string said;
    for (const auto& s : answers) said += (said.empty() ? "" : " or ") + s;
    rep_.add("G1",
             op_path(o) + " answered " + std::string(o.error) + ", but ZooKeeper answers " + said +
                 " at every state from zxid " + std::to_string(lo) + " to " + std::to_string(hi),
             {name(o.session)}, {o.id}, {lo, hi}, {o.invoke, o.answer});
  }

  // ---- pass C: watches through the model --------------------------------------------------

  void replay_watches() {
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
      const ModelWriteResult res = apply_commit(m, c, &scratch);
      for (const ModelEvent& e : res.events) {
        const Registration& r = regs_[e.registration / kMaxCandidates];
        Fire& f = fires_[r.first + e.registration % kMaxCandidates];
        f.fired = true;
        f.event = event_name(e.event);
        f.zxid = c.zxid;
      }
    }
  }

  // ---- pass D: G5, G6 ----------------------------------------------------------------------

  size_t closing_line(int s) const {
    size_t line = kNoLine;
    for (int k : ops_of(s)) {
      const Op& o = ops_[k];
      if (o.kind == OpKind::Close || o.kind == OpKind::Expire) line = std::min(line, o.invoke);
      if (o.answered() && o.error == "SessionExpired") line = std::min(line, o.answer);
    }
    return line;
  }

  // A registration's fire, with its group: the registration's session and path.
  struct OpenFire {
    uint64_t group;
    std::string_view event;
    int64_t zxid;
    size_t reg;
  };
  static bool fire_before(const OpenFire& x, const OpenFire& y) {
    if (x.group != y.group) return x.group < y.group;
    if (const int c = x.event.compare(y.event); c != 0) return c < 0;
    return x.zxid < y.zxid;
  }
  struct GroupReg {
    uint64_t group;
    size_t reg;
    bool operator<(const GroupReg& y) const {
      return group != y.group ? group < y.group : reg < y.reg;
    }
  };

  void judge_watches() {
    // G5: events in zxid order per session.
    std::vector<size_t> last(sessions_.size(), kNoLine);
    for (size_t k = 0; k < watches_.size(); ++k) {
      const WatchLine& w = watches_[k];
      const std::string& session = name(w.session);
      const size_t l = last[w.session];
      if (l != kNoLine && w.zxid < watches_[l].zxid) {
        const WatchLine& p = watches_[l];
        rep_.add("G5",
                 "session " + session + " recorded " + std::string(w.event) + " " +
                     path_of(w.path) + " (zxid " + std::to_string(w.zxid) + ") after " +
                     std::string(p.event) + " " + path_of(p.path) + " (zxid " +
                     std::to_string(p.zxid) + ")",
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

    // G6: match every event line to a registration of its session and path (its group).
    // The registrations of each group in registration order, and their fires sorted by
    // (group, event, zxid), each run of equal keys in registration order.
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
    for (size_t k = 0; k < watches_.size(); ++k) {
      const WatchLine& w = watches_[k];
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
          if (r.matched_line < 0 && ops_[r.op].invoke < w.line)
            found = static_cast<int>(open[j].reg);
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

    // G5: the event before any answer reflecting its zxid; G6: it fired at all.
    std::vector<FirstAtLeast> reflect;
    std::vector<size_t> closing;
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
          all = all && f.fired;
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
                       " (" + op_path(o) + "), triggered by " + change() +
                       ", but the answer to id " + std::to_string(later.id) + " (" +
                       op_path(later) + ") reflects zxid " + std::to_string(later.reflects) +
                       (w ? " and came before the event" : " and no event came before it"),
                   {name(o.session)}, {o.id, later.id}, {z, later.reflects},
                   {o.invoke, o.answer, event_line, later.invoke, later.answer, cm.answer});
          continue;
        }
      }
      if (!w && closing[o.session] == kNoLine && !maybe_expired_[o.session] &&
          close_zxid_[o.session] == kNone) {
        rep_.add("G6",
                 "the watch of id " + std::to_string(o.id) + " (" + op_path(o) + ", session " +
                     name(o.session) + ") never fired, though " + change() +
                     " triggers it and the session stayed open",
                 {name(o.session)}, {o.id}, {z}, {o.invoke, o.answer, cm.answer});
      }
    }
  }

  // `regs`: the registrations of the line's session and path, in registration order.
  void diagnose_unmatched(const WatchLine& w, std::span<const GroupReg> regs) {
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
          why = "wrong event type: " + watch + " fires " + std::string(best_fire->event) +
                " (zxid " + std::to_string(best_fire->zxid) + ")";
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

  // ---- G8: what a closed or expired session is answered -----------------------------------

  void judge_sessions() {
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
          const bool fine = o.kind == OpKind::Close ? o.ok && !o.committed()
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

  struct Evidence {
    std::vector<std::pair<size_t, int>> deleted;  // NodeDeleted watch lines (line, path)
    std::vector<std::pair<size_t, int>> stats;    // stats naming the zxid (line, path)
    // get_children answers whose pzxid is the zxid: (path, the children after it)
    std::vector<std::pair<int, const json*>> listings;
    size_t first = kNoLine;  // the earliest line that shows the zxid
  };

  const Scenario& sc_;
  const std::vector<json>& h_;
  Reporter rep_;
  Names sessions_;            // the sessions of invocations and of watch lines
  Names paths_;               // every path the checker has met
  std::vector<int> parents_;  // path -> its parent path, -1 until asked
  std::vector<Op> ops_;
  std::vector<Stat> stats_;        // the stats of answers (Op::stat)
  std::deque<std::string> bytes_;  // the data of lines (Op::bytes)
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
  std::vector<Candidate> cands_;  // the registrations' candidate states
  std::vector<Fire> fires_;       // what the model fired for each of them
};

}  // namespace

std::vector<Violation> check_history(const Scenario& sc, const std::vector<nlohmann::json>& history,
                                     const std::vector<SilentStop>& silent,
                                     const std::vector<FaultWindow>& faults) {
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
