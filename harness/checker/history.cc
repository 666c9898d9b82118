// Reading the history (harness/checker/checker_state.h says how the checker is laid out): the
// JSON is read once, a batch of lines at a time (walking several objects side by side lets the
// processor overlap their cache misses), into the records of harness/checker/history.h; and the
// order checks on them, G2 (per session, answers in invocation order and write zxids growing)
// and G10 (every invocation answered). Later passes do not go back to the JSON (but for the
// children of a get_children answer, and excerpts of violations).
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/text/base64.h"
#include "emulator/digest.h"
#include "harness/checker/checker_state.h"

namespace fkemu::checker_detail {

using json = nlohmann::json;

// The members of a history line that parse() reads (strings as views, empty when absent or not
// strings; the others as pointers, null when absent).
struct Fields {
  std::string_view kind, session, op, path, error, event;
  const json *id = nullptr, *data = nullptr, *data_b64 = nullptr, *flags = nullptr,
             *watch = nullptr, *version = nullptr, *zxid = nullptr, *stat = nullptr,
             *children = nullptr, *ops = nullptr, *results = nullptr, *failed_op = nullptr,
             *recursive = nullptr, *acl = nullptr, *auth = nullptr, *ttl_ms = nullptr;
};

namespace {

OpKind op_kind(std::string_view op) {
  if (op == "create") return OpKind::Create;
  if (op == "set_data") return OpKind::SetData;
  if (op == "delete") return OpKind::Delete;
  if (op == "close") return OpKind::Close;
  if (op == "get_data") return OpKind::GetData;
  if (op == "exists") return OpKind::Exists;
  if (op == "get_children") return OpKind::GetChildren;
  if (op == "expire") return OpKind::Expire;
  if (op == "multi") return OpKind::Multi;
  if (op == "add_watch") return OpKind::AddWatch;
  if (op == "set_acl") return OpKind::SetAcl;
  if (op == "get_acl") return OpKind::GetAcl;
  if (op == "add_auth") return OpKind::AddAuth;
  return OpKind::Other;
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

void set_field(Fields* f, std::string_view key, const json& value) {
  const json* v = &value;
  switch (key.empty() ? '\0' : key[0]) {
    case 'k':
      if (is_key(key, "kind")) f->kind = str(v);
      break;
    case 'a':
      if (is_key(key, "acl")) f->acl = v;
      if (is_key(key, "auth")) f->auth = v;
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
      if (is_key(key, "ops")) f->ops = v;
      break;
    case 'r':
      if (is_key(key, "results")) f->results = v;
      if (is_key(key, "recursive")) f->recursive = v;
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
      if (is_key(key, "failed_op")) f->failed_op = v;
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
    case 't':
      if (is_key(key, "ttl_ms")) f->ttl_ms = v;
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
    case 't':
      if (is_key(key, "ttl_ms")) s->ttl_ms = n;
      break;
    default:
      break;
  }
}

}  // namespace

Acl acl_of(const json& a) {
  Acl out;
  if (!a.is_array()) return out;
  for (const json& e : a) {
    AclEntry entry;
    entry.scheme = std::string(str(find_member(e, "scheme")));
    entry.id = std::string(str(find_member(e, "id")));
    entry.perms = perms_from_letters(str(find_member(e, "perms"))).value_or(0);
    out.push_back(std::move(entry));
  }
  return out;
}

Stat tolerant_stat(const json& st) {
  Stat s;
  if (st.is_object())
    for (const auto& [key, value] : st.items()) set_stat_field(&s, key, value);
  return s;
}

// A line's bytes: `data`, else `data_b64` decoded, else empty. They are copied into bytes_
// (the replays read them in zxid order, and the history's JSON is far away by then).
std::string_view Checker::bytes_of(const Fields& f) {
  if (f.data && f.data->is_string()) {
    const std::string_view d = str(f.data);
    return d.empty() ? d : bytes_.emplace_back(d);
  }
  if (f.data_b64 && f.data_b64->is_string())
    return bytes_.emplace_back(base64_decode(str(f.data_b64)).value_or(std::string()));
  return {};
}

void Checker::parse() {
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
void Checker::parse_line(size_t i, const Fields& f, Stat* stat) {
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
    read_flags(f.flags, &o.ephemeral, &o.sequential, &o.container);
    if (f.ttl_ms) o.ttl_ms = num(f.ttl_ms);
    o.watch = f.watch && f.watch->is_boolean() && f.watch->get<bool>();
    o.recursive = f.recursive && f.recursive->is_boolean() && f.recursive->get<bool>();
    if (o.kind == OpKind::Multi) o.multi = read_multi(f.ops, name(session));
    if (o.kind == OpKind::Create || o.kind == OpKind::SetAcl) o.acl = f.acl;
    // The session's identities: as they are when it is invoked (an add_auth counts from its
    // own invocation on, as fkemu's client library takes it at once).
    if (static_cast<size_t>(session) >= session_ids_.size()) session_ids_.resize(session + 1, 0);
    if (o.kind == OpKind::AddAuth && f.auth && f.auth->is_string()) {
      std::vector<Identity> now = identity_sets_[session_ids_[session]];
      const Identity added = digest_identity(str(f.auth));
      if (std::find(now.begin(), now.end(), added) == now.end()) now.push_back(added);
      identity_sets_.push_back(std::move(now));
      session_ids_[session] = static_cast<int>(identity_sets_.size() - 1);
      if (static_cast<size_t>(session) >= id_changes_.size()) id_changes_.resize(session + 1);
      id_changes_[session].emplace_back(i, session_ids_[session]);
    }
    o.ids = session_ids_[session];
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
      rep_.add("G2", "id " + std::to_string(o.id) + " is answered twice", {name(o.session)}, {o.id},
               {}, {o.invoke, o.answer, i});
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
    o.failed_op = static_cast<int>(num(f.failed_op, -1));
    if (o.kind == OpKind::Multi && f.results && f.results->is_array()) o.results = f.results;
    if (o.kind == OpKind::GetAcl) o.acl = f.acl;
    if (o.kind == OpKind::AddAuth) auth_answers_[o.invoke] = i;
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
  } else if (kind == "service") {
    // An update of the service's own (a container's or a TTL node's cleanup): committed
    // by this line, invoked by nobody (so no write has to be answered before it), and it
    // belongs to no session (the empty name).
    const size_t k = ops_.size();
    Op& o = ops_.emplace_back();
    o.service = true;
    o.session = sessions_.id("");
    o.op = f.op;
    o.kind = op_kind(o.op);
    o.path = paths_.id(f.path);
    o.zxid = num(f.zxid, kNone);
    o.id = o.zxid == kNone ? kNone : -o.zxid;
    o.invoke = 0;
    o.answer = i;
    o.ok = true;
    std::vector<int>& sess = ops_of(o.session);
    o.seq = static_cast<uint32_t>(sess.size());
    sess.push_back(static_cast<int>(k));
    roles_.push_back(Role{Role::Answer, static_cast<uint32_t>(k)});
    if (o.committed() && o.zxid > answered_max_) {  // invoked later, a write comes after it
      answered_max_ = o.zxid;
      answered_by_zxid_.emplace_back(o.zxid, k);
    }
    if (o.kind != OpKind::Delete || !o.committed())
      rep_.add("G1",
               "a service line must be a delete with a zxid (got " + std::string(o.op) + " " +
                   path_of(o.path) + ")",
               {}, {}, {}, {i});
  } else if (kind == "watch") {
    roles_.push_back(Role{Role::Watch, static_cast<uint32_t>(watches_.size())});
    watches_.push_back(
        WatchLine{i, sessions_.id(f.session), f.event, paths_.id(f.path), num(f.zxid)});
  }
}

// A line's flags.
void Checker::read_flags(const json* flags, bool* ephemeral, bool* sequential, bool* container) {
  if (!flags || !flags->is_array()) return;
  for (const auto& x : *flags) {
    if (str(&x) == "ephemeral") *ephemeral = true;
    if (str(&x) == "sequential") *sequential = true;
    if (str(&x) == "container") *container = true;
  }
}

// A multi's operations as the model's writes (into multis_); its index there.
int Checker::read_multi(const json* ops, const std::string& session) {
  ModelWrite& m = multis_.emplace_back();
  m.op = "multi";
  m.session = session;
  if (!ops || !ops->is_array()) return static_cast<int>(multis_.size() - 1);
  for (const json& x : *ops) {
    ModelWrite& w = m.ops.emplace_back();
    w.session = session;
    if (!x.is_object()) continue;
    Fields f;
    for (const auto& [key, value] : x.items()) set_field(&f, key, value);
    w.op = f.op;
    w.path = f.path;
    w.data = bytes_of(f);
    w.version = static_cast<int32_t>(num(f.version, -1));
    read_flags(f.flags, &w.ephemeral, &w.sequential, &w.container);
    if (f.ttl_ms) w.ttl_ms = num(f.ttl_ms);
    w.ttl_nodes = sc_.config.ttl_nodes.value_or(false);
    if (f.acl) w.acl = acl_of(*f.acl);
  }
  return static_cast<int>(multis_.size() - 1);
}

// G2: per session, answers in invocation order and write zxids growing in that order; G10: every
// invocation answered.

void Checker::order_checks() {
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
          rep_.add("G2",
                   "session " + name(s) + " got the answer to id " + std::to_string(o.id) + " (" +
                       std::string(o.op) + ") before the answer to id " + std::to_string(older.id) +
                       " (" + std::string(older.op) + "), which it invoked first",
                   {name(s)}, {older.id, o.id}, {},
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
                   (path_of(o.path).empty() ? "" : " " + path_of(o.path)) + ") was never answered",
               {name(o.session)}, {o.id}, {}, {o.invoke});
}

}  // namespace fkemu::checker_detail
