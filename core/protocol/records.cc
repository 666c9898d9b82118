#include "core/protocol/records.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>
#include <type_traits>

#include "core/text/varint.h"

// Every map below lists its names in their sorted order: a ValueMap built from a sorted list
// is not sorted again (the map would sort any other order itself; this is only speed).

namespace fkemu {

namespace {

// A list of strings in a packed layout: the count, then each as a text.
void put_strings(std::string& out, const std::vector<std::string>& list) {
  put_varint(out, list.size());
  for (const std::string& s : list) put_text(out, s);
}

// Reads what put_strings wrote; false if it is cut off. Reserves no more than the bytes left
// could hold, whatever the count claims.
bool take_strings(VarintReader& in, std::vector<std::string>& out, size_t bytes_left) {
  uint64_t count = 0;
  if (!in.varint(count)) return false;
  out.reserve(std::min<uint64_t>(count, bytes_left));
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view s;
    if (!in.text(s)) return false;
    out.emplace_back(s);
  }
  return true;
}

bool parse_digits(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Value epoch_to_value(const Epoch& epoch) {
  ValueList out;
  out.reserve(epoch.size());
  for (const EpochEntry& e : epoch)
    out.emplace_back(ValueMap{{"s", Value::strings(e.sessions)}, {"z", e.zxid}});
  return Value(std::move(out));
}

Epoch epoch_from_value(const Value& v) {
  Epoch out;
  if (!v.is_list()) return out;
  for (const Value& e : v.as_list()) out.push_back({e.at("z").as_number(), e.strings_of("s")});
  return out;
}

// An update's triggers, packed as a stat is (decision 41): a layout byte, the zxid, the count,
// then per trigger its path (length and bytes), its event (0-3), its watch types as bits (1
// data, 2 child) and its czxid (0, or 1 and the number).
constexpr uint8_t kPackedTriggers = 1;

}  // namespace

void UpdateTriggers::append_packed(std::string& out) const {
  out.push_back(static_cast<char>(kPackedTriggers));
  put_signed(out, zxid);
  put_varint(out, triggers.size());
  for (const Trigger& t : triggers) {
    put_text(out, t.path);
    out.push_back(static_cast<char>(t.event));
    uint8_t types = 0;
    for (WatchType w : t.types) types |= w == WatchType::Data ? 1 : 2;
    out.push_back(static_cast<char>(types));
    // Flags: 1 the czxid follows, 2 then the node's ACL (decision 51).
    out.push_back(static_cast<char>((t.czxid ? 1 : 0) | (t.acl.empty() ? 0 : 2)));
    if (t.czxid) put_signed(out, *t.czxid);
    if (!t.acl.empty()) append_packed_acl(out, t.acl);
  }
}

Value UpdateTriggers::to_value() const {
  std::string out;
  size_t room = 12;
  for (const Trigger& t : triggers) room += t.path.size() + 16;
  out.reserve(room);
  append_packed(out);
  return Value(Bytes(std::move(out)));
}

UpdateTriggers UpdateTriggers::from_value(const Value& v) {
  if (!v.is_bytes())
    throw std::invalid_argument("a damaged update in a user record: not packed bytes");
  return from_packed(v.as_bytes().view());
}

int64_t UpdateTriggers::zxid_of_packed(std::string_view packed) {
  VarintReader in(packed);
  uint8_t layout = 0;
  int64_t zxid = 0;
  if (!in.byte(layout) || layout != kPackedTriggers || !in.signed_number(zxid))
    throw std::invalid_argument("a damaged update in a user record: no zxid");
  return zxid;
}

UpdateTriggers UpdateTriggers::from_packed(std::string_view packed) {
  auto damaged = [](const char* what) {
    return std::invalid_argument(std::string("a damaged update in a user record: ") + what);
  };
  VarintReader in(packed);
  UpdateTriggers u;
  uint8_t layout = 0;
  uint64_t count = 0;
  if (!in.byte(layout) || layout != kPackedTriggers) throw damaged("an unknown layout");
  if (!in.signed_number(u.zxid) || !in.varint(count)) throw damaged("cut off");
  for (uint64_t i = 0; i < count; ++i) {
    Trigger t;
    std::string_view path;
    uint8_t event = 0, types = 0, has_czxid = 0;
    if (!in.text(path) || !in.byte(event) || !in.byte(types) || !in.byte(has_czxid))
      throw damaged("cut off");
    if (event > static_cast<uint8_t>(EventType::NodeChildrenChanged))
      throw damaged("an unknown event");
    if (types == 0 || types > 3) throw damaged("unknown watch types");
    if (has_czxid > 3) throw damaged("flags other than czxid and ACL");
    t.path = std::string(path);
    t.event = static_cast<EventType>(event);
    if (types & 1) t.types.push_back(WatchType::Data);
    if (types & 2) t.types.push_back(WatchType::Child);
    if (has_czxid & 1) {
      int64_t czxid = 0;
      if (!in.signed_number(czxid)) throw damaged("cut off");
      t.czxid = czxid;
    }
    if ((has_czxid & 2) != 0 && (!read_packed_acl(in, t.acl, packed.size()) || t.acl.empty()))
      throw damaged("a cut or empty ACL");
    u.triggers.push_back(std::move(t));
  }
  if (!in.done()) throw damaged("bytes beyond its end");
  return u;
}

nlohmann::json UpdateTriggers::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const Trigger& t : triggers) {
    nlohmann::json types = nlohmann::json::array();
    for (WatchType w : t.types) types.push_back(watch_type_name(w));
    nlohmann::json j{{"path", t.path}, {"event", event_name(t.event)}, {"types", types}};
    if (t.czxid) j["czxid"] = *t.czxid;
    list.push_back(std::move(j));
  }
  return nlohmann::json{{"zxid", zxid}, {"triggers", std::move(list)}};
}

// --- Locks and nodes ----------------------------------------------------------------------------

std::string LockOwner::to_string() const {
  return "a" + std::to_string(attempt) + "@" + std::to_string(process);
}

std::optional<LockOwner> LockOwner::parse(std::string_view text) {
  const auto at = text.find('@');
  if (text.size() < 4 || text[0] != 'a' || at == std::string_view::npos) return std::nullopt;
  LockOwner o;
  if (!parse_digits(text.substr(1, at - 1), o.attempt) ||
      !parse_digits(text.substr(at + 1), o.process))
    return std::nullopt;
  return o;
}

bool Lockable::has_pending(const std::string& uid) const {
  for (const auto& p : pending)
    if (p == uid) return true;
  return false;
}

Lockable Lockable::from_item(const Item& item) {
  Lockable l;
  if (item.at(attr::kLock).is_number()) l.lock = item.at(attr::kLock).as_number();
  if (item.at(attr::kLockOwner).is_string()) l.lock_owner = item.at(attr::kLockOwner).as_string();
  l.pending = item.strings_of(attr::kPending);
  return l;
}

// A node's fields, packed as a stat is (decision 41): a layout byte, flags (1 exists, 2 a
// container, 4 an ACL other than world:anyone follows), the create counter, the packed stat
// (length and bytes), the children (count, then length and bytes of each), then the ACL if
// flagged (decision 50).
constexpr uint8_t kPackedNode = 1;

std::vector<Update> NodeState::set_updates() const {
  return {Update::set(attr::kNode, to_value())};
}

Value NodeState::to_value() const {
  std::string packed_stat;
  packed_stat.reserve(32);
  append_packed_stat(packed_stat, stat);
  size_t room = 16 + packed_stat.size();
  for (const std::string& c : children) room += c.size() + 2;
  std::string out;
  out.reserve(room);
  out.push_back(static_cast<char>(kPackedNode));
  out.push_back(static_cast<char>((exists ? 1 : 0) | (container ? 2 : 0) | (acl.empty() ? 0 : 4)));
  put_signed(out, creates);
  put_text(out, packed_stat);
  put_strings(out, children);
  if (!acl.empty()) append_packed_acl(out, acl);
  return Value(Bytes(std::move(out)));
}

NodeState NodeState::from_value(const Value& v) {
  NodeState n;
  if (v.is_null()) return n;  // no node attribute: an item a lock alone made
  auto damaged = [](const char* what) {
    return std::invalid_argument(std::string("a damaged node record: ") + what);
  };
  if (!v.is_bytes()) throw damaged("not packed bytes");
  VarintReader in(v.as_bytes().view());
  uint8_t layout = 0, exists = 0;
  std::string_view packed_stat;
  if (!in.byte(layout) || layout != kPackedNode) throw damaged("an unknown layout");
  if (!in.byte(exists)) throw damaged("cut off");
  if (exists > 7) throw damaged("flags other than exists, container and ACL");
  if (!in.signed_number(n.creates) || !in.text(packed_stat) ||
      !take_strings(in, n.children, v.as_bytes().size()))
    throw damaged("cut off");
  if ((exists & 4) != 0 && (!read_packed_acl(in, n.acl, v.as_bytes().size()) || n.acl.empty()))
    throw damaged("a cut or empty ACL");
  n.exists = (exists & 1) != 0;
  n.container = (exists & 2) != 0;
  n.stat = read_packed_stat(packed_stat);
  if (!in.done()) throw damaged("bytes beyond its end");
  return n;
}

nlohmann::json NodeState::to_json() const {
  nlohmann::json j{{"exists", exists},
                   {"stat", stat_to_json(stat)},
                   {"children", children},
                   {"creates", creates}};
  if (container) j["container"] = true;
  if (!acl.empty()) j["acl"] = acl_to_json(acl);
  return j;
}

NodeRecord NodeRecord::from_item(const Item& item) {
  return NodeRecord{NodeState::from_value(item.at(attr::kNode)), Lockable::from_item(item)};
}

SessionRecord SessionRecord::from_item(const Item& item) {
  SessionRecord s;
  s.alive = item.bool_or(attr::kAlive, false);
  s.lock_stub = !item.contains(attr::kAlive);
  s.last_req = item.number_or(attr::kLastReq, 0);
  if (const Value& e = item.at(attr::kLastError); e.is_map()) {
    const auto code = code_from_name(e.string_or("error", ""));
    s.last_error = LastError{e.number_or("req", -1), code.value_or(Code::SystemError),
                             static_cast<int>(e.number_or("failed_op", -1))};
  }
  s.ephemerals = item.strings_of(attr::kEphemerals);
  s.timeout_ms = item.number_or(attr::kTimeoutMs, 0);
  s.last_seen = item.number_or(attr::kLastSeen, 0);
  s.watch_keys = item.strings_of(attr::kWatchKeys);
  s.book = Lockable::from_item(item);
  return s;
}

Item SessionRecord::to_new_item() const {
  return Value(ValueMap{{attr::kAlive, alive},
                        {attr::kEphemerals, Value::strings(ephemerals)},
                        {attr::kLastReq, last_req},
                        {attr::kLastSeen, last_seen},
                        {attr::kTimeoutMs, timeout_ms}});
}

Value LastError::to_value() const {
  ValueMap m{{"error", code_name(error)}, {"req", req}};
  if (failed_op >= 0) m.set("failed_op", failed_op);
  return Value(std::move(m));
}

// --- Writer requests ------------------------------------------------------------------------

const char* write_op_name(WriteOp op) {
  switch (op) {
    case WriteOp::Create:
      return "create";
    case WriteOp::Delete:
      return "delete";
    case WriteOp::SetData:
      return "set_data";
    case WriteOp::Close:
      return "close";
    case WriteOp::Multi:
      return "multi";
    case WriteOp::SetAcl:
      return "set_acl";
    case WriteOp::AddWatch:
      return "add_watch";
  }
  return "?";
}

namespace {
WriteOp write_op_from_name(const std::string& name) {
  for (WriteOp op : {WriteOp::Create, WriteOp::Delete, WriteOp::SetData, WriteOp::Close,
                     WriteOp::Multi, WriteOp::SetAcl, WriteOp::AddWatch})
    if (name == write_op_name(op)) return op;
  throw std::invalid_argument("unknown write operation '" + name + "'");
}
}  // namespace

namespace {
const std::string kNoPath;
}  // namespace

const std::string& path_of(const MultiOp& op) {
  return std::visit([](const auto& o) -> const std::string& { return o.path; }, op);
}

const std::string& WriteRequest::path() const {
  if (auto* m = std::get_if<MultiRequest>(&op))
    return m->ops.empty() ? kNoPath : path_of(m->ops.front());
  return std::visit(
      [](const auto& o) -> const std::string& {
        if constexpr (requires { o.path; }) {
          return o.path;
        } else {
          return kNoPath;
        }
      },
      op);
}

size_t WriteRequest::data_bytes() const {
  if (auto* m = std::get_if<MultiRequest>(&op)) {
    size_t n = 0;
    for (const MultiOp& o : m->ops) {
      if (auto* c = std::get_if<CreateRequest>(&o)) n += c->data.size();
      if (auto* sd = std::get_if<SetDataRequest>(&o)) n += sd->data.size();
    }
    return n;
  }
  return data() ? data()->size() : 0;
}

const Bytes* WriteRequest::data() const {
  if (auto* c = std::get_if<CreateRequest>(&op)) return &c->data;
  if (auto* s = std::get_if<SetDataRequest>(&op)) return &s->data;
  return nullptr;
}

bool WriteRequest::sequential_create() const {
  auto* c = std::get_if<CreateRequest>(&op);
  return c && c->sequential;
}

namespace {

// Node data as an attribute: its bytes, or null for ZooKeeper's null data.
Value data_value(const Bytes& data) { return data.is_null() ? Value() : Value(data); }
// The "data" attribute of a message, which must be there (null stands for null data).
Bytes data_from(const Value& message) {
  if (!message.contains("data")) throw std::invalid_argument("a message without its data");
  const Value& v = message.at("data");
  return v.is_null() ? Bytes::null() : v.as_bytes();
}

// An ACL in a message: its packed bytes (decision 50).
Value acl_value(const Acl& acl) {
  std::string out;
  append_packed_acl(out, acl);
  return Value(Bytes(std::move(out)));
}
Acl acl_from(const Value& v) {
  Acl acl;
  const std::string_view packed = v.as_bytes().view();
  VarintReader in(packed);
  if (!read_packed_acl(in, acl, packed.size()) || !in.done())
    throw std::invalid_argument("a damaged ACL in a message");
  return acl;
}
// A request's identities: the count, then each scheme and id.
Value identities_value(const std::vector<Identity>& ids) {
  std::string out;
  put_varint(out, ids.size());
  for (const Identity& id : ids) {
    put_text(out, id.scheme);
    put_text(out, id.id);
  }
  return Value(Bytes(std::move(out)));
}
std::vector<Identity> identities_from(const Value& v) {
  const std::string_view packed = v.as_bytes().view();
  VarintReader in(packed);
  uint64_t count = 0;
  std::vector<Identity> ids;
  if (!in.varint(count)) throw std::invalid_argument("damaged identities in a message");
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view scheme, id;
    if (!in.text(scheme) || !in.text(id))
      throw std::invalid_argument("damaged identities in a message");
    ids.push_back(Identity{std::string(scheme), std::string(id)});
  }
  if (!in.done()) throw std::invalid_argument("damaged identities in a message");
  return ids;
}

// An add_watch's fields, in a request and in its update.
void set_watch_fields(ValueMap& m, const AddWatchRequest& w) {
  m.set("path", w.path);
  m.set("recursive", w.recursive);
  m.set("watch_id", w.id);
}
AddWatchRequest watch_from(const Value& body) {
  return AddWatchRequest{body.at("path").as_string(), body.bool_or("recursive", false),
                         body.at("watch_id").as_string()};
}

const char* multi_op_name(MultiOpKind k) {
  switch (k) {
    case MultiOpKind::Create:
      return "create";
    case MultiOpKind::Delete:
      return "delete";
    case MultiOpKind::SetData:
      return "set_data";
    case MultiOpKind::Check:
      return "check";
  }
  return "?";
}

MultiOpKind multi_op_from_name(const std::string& name) {
  for (MultiOpKind k :
       {MultiOpKind::Create, MultiOpKind::Delete, MultiOpKind::SetData, MultiOpKind::Check})
    if (name == multi_op_name(k)) return k;
  throw std::invalid_argument("unknown multi operation '" + name + "'");
}

// The fields of one node operation (a request's, or one of a multi's).
template <class Op>
void set_op_fields(ValueMap& m, const Op& op) {
  m.set("path", op.path);
  if constexpr (std::is_same_v<Op, CreateRequest>) {
    m.set("data", data_value(op.data));
    m.set("ephemeral", op.ephemeral);
    m.set("sequential", op.sequential);
    if (op.container) m.set("container", true);
    if (op.ttl_ms) m.set("ttl_ms", *op.ttl_ms);
    if (op.acl) m.set("acl", acl_value(*op.acl));
  } else if constexpr (std::is_same_v<Op, SetDataRequest>) {
    m.set("data", data_value(op.data));
    m.set("version", op.version);
  } else {
    m.set("version", op.version);
    if constexpr (std::is_same_v<Op, DeleteRequest>) {
      if (op.only_empty_container) m.set("only_empty_container", true);
      if (op.only_expired_ttl) {
        ValueMap e;
        e.set("czxid", op.only_expired_ttl->czxid);
        e.set("mzxid", op.only_expired_ttl->mzxid);
        m.set("only_expired_ttl", Value(std::move(e)));
      }
    }
  }
}

CreateRequest create_from(const Value& body) {
  CreateRequest c{body.at("path").as_string(),
                  data_from(body),
                  body.bool_or("ephemeral", false),
                  body.bool_or("sequential", false),
                  body.bool_or("container", false),
                  {},
                  {}};
  if (body.contains("ttl_ms")) c.ttl_ms = body.at("ttl_ms").as_number();
  if (body.contains("acl")) c.acl = acl_from(body.at("acl"));
  return c;
}

DeleteRequest delete_from(const Value& body) {
  DeleteRequest d{body.at("path").as_string(),
                  static_cast<int32_t>(body.number_or("version", -1)),
                  body.bool_or("only_empty_container", false),
                  {}};
  if (body.contains("only_expired_ttl")) {
    const Value& e = body.at("only_expired_ttl");
    d.only_expired_ttl =
        DeleteRequest::Expired{e.at("czxid").as_number(), e.at("mzxid").as_number()};
  }
  return d;
}

MultiOp multi_op_from(const Value& body) {
  const auto version = [&] { return static_cast<int32_t>(body.number_or("version", -1)); };
  switch (multi_op_from_name(body.at("op").as_string())) {
    case MultiOpKind::Create:
      return create_from(body);
    case MultiOpKind::Delete:
      return delete_from(body);
    case MultiOpKind::SetData:
      return SetDataRequest{body.at("path").as_string(), data_from(body), version()};
    case MultiOpKind::Check:
      return CheckRequest{body.at("path").as_string(), version()};
  }
  throw std::logic_error("unreachable");
}

Value outcome_to_value(const OpOutcome& o) {
  ValueMap m{{"op", multi_op_name(o.kind)}};
  if (o.path) m.set("path", *o.path);
  if (o.stat) m.set("stat", stat_to_value(*o.stat));
  return Value(std::move(m));
}

OpOutcome outcome_from_value(const Value& v) {
  OpOutcome o;
  o.kind = multi_op_from_name(v.at("op").as_string());
  if (v.at("path").is_string()) o.path = v.at("path").as_string();
  if (!v.at("stat").is_null()) o.stat = stat_from_value(v.at("stat"));
  return o;
}

Value outcomes_to_value(const std::vector<OpOutcome>& results) {
  ValueList l;
  l.reserve(results.size());
  for (const OpOutcome& o : results) l.push_back(outcome_to_value(o));
  return Value(std::move(l));
}

std::vector<OpOutcome> outcomes_from_value(const Value& v) {
  std::vector<OpOutcome> out;
  if (!v.is_list()) return out;
  for (const Value& o : v.as_list()) out.push_back(outcome_from_value(o));
  return out;
}

}  // namespace

Value WriteRequest::to_message() const {
  ValueMap m{{"op", write_op_name(kind())}, {"req", req_no}, {"session", session}};
  if (auto* c = std::get_if<CreateRequest>(&op)) {
    set_op_fields(m, *c);
  } else if (auto* d = std::get_if<DeleteRequest>(&op)) {
    set_op_fields(m, *d);
  } else if (auto* s = std::get_if<SetDataRequest>(&op)) {
    set_op_fields(m, *s);
  } else if (auto* a = std::get_if<SetAclRequest>(&op)) {
    m.set("path", a->path);
    m.set("acl", acl_value(a->acl));
    m.set("version", a->version);
  } else if (auto* w = std::get_if<AddWatchRequest>(&op)) {
    set_watch_fields(m, *w);
  } else if (auto* cl = std::get_if<CloseRequest>(&op)) {
    if (cl->expired_last_seen) m.set("last_seen", *cl->expired_last_seen);
  } else if (auto* mu = std::get_if<MultiRequest>(&op)) {
    ValueList ops;
    ops.reserve(mu->ops.size());
    for (const MultiOp& o : mu->ops) {
      ValueMap om{{"op", multi_op_name(kind_of(o))}};
      std::visit([&om](const auto& x) { set_op_fields(om, x); }, o);
      ops.emplace_back(std::move(om));
    }
    m.set("ops", Value(std::move(ops)));
  }
  if (!auth.empty()) m.set("auth", identities_value(auth));
  return Value(std::move(m));
}

WriteRequest WriteRequest::from_message(const Value& body) {
  WriteRequest r;
  r.session = body.at("session").as_string();
  r.req_no = body.at("req").as_number();
  if (body.contains("auth")) r.auth = identities_from(body.at("auth"));
  const auto version = [&] { return static_cast<int32_t>(body.number_or("version", -1)); };
  switch (write_op_from_name(body.at("op").as_string())) {
    case WriteOp::Create:
      r.op = create_from(body);
      break;
    case WriteOp::Delete:
      r.op = delete_from(body);
      break;
    case WriteOp::SetData:
      r.op = SetDataRequest{body.at("path").as_string(), data_from(body), version()};
      break;
    case WriteOp::SetAcl:
      r.op = SetAclRequest{body.at("path").as_string(), acl_from(body.at("acl")), version()};
      break;
    case WriteOp::AddWatch:
      r.op = watch_from(body);
      break;
    case WriteOp::Close: {
      CloseRequest c;
      if (body.at("last_seen").is_number()) c.expired_last_seen = body.at("last_seen").as_number();
      r.op = c;
      break;
    }
    case WriteOp::Multi: {
      MultiRequest m;
      for (const Value& o : body.at("ops").as_list()) m.ops.push_back(multi_op_from(o));
      r.op = std::move(m);
      break;
    }
  }
  return r;
}

// --- Updates --------------------------------------------------------------------------------

const char* change_kind_name(ChangeKind k) {
  switch (k) {
    case ChangeKind::Create:
      return "create";
    case ChangeKind::Set:
      return "set";
    case ChangeKind::Delete:
      return "delete";
    case ChangeKind::Parent:
      return "parent";
    case ChangeKind::Keep:
      return "keep";
    case ChangeKind::AclChange:
      return "acl";
  }
  return "?";
}

namespace {
ChangeKind change_kind_from_name(const std::string& name) {
  for (ChangeKind k : {ChangeKind::Create, ChangeKind::Set, ChangeKind::Delete, ChangeKind::Parent,
                       ChangeKind::Keep, ChangeKind::AclChange})
    if (name == change_kind_name(k)) return k;
  throw std::invalid_argument("unknown change kind '" + name + "'");
}
}  // namespace

NodeState Change::materialized(int64_t zxid) const {
  NodeState n = node;
  n.stat = materialize_stat(n.stat, zxid);
  switch (kind) {
    case ChangeKind::Create:
      n.stat.czxid = n.stat.mzxid = n.stat.pzxid = zxid;
      break;
    case ChangeKind::Set:
      n.stat.mzxid = zxid;
      break;
    case ChangeKind::Parent:
      n.stat.pzxid = zxid;
      break;
    case ChangeKind::Delete:
    case ChangeKind::Keep:
    case ChangeKind::AclChange:  // setACL changes no zxid of the node's (aversion alone)
      break;
  }
  return n;
}

Stat materialize_stat(Stat s, int64_t zxid) {
  for (int64_t* z : {&s.czxid, &s.mzxid, &s.pzxid})
    if (*z == kThisZxid) *z = zxid;
  return s;
}

std::vector<Change> UpdateMessage::final_changes() const {
  if (op != WriteOp::Multi) return changes;
  // Each node once, where it first appears, as its last change leaves it. A node the update
  // leaves missing is deleted (or was only created and deleted again); one it created (again)
  // is created, with the data of its last create or set; one whose data it set is set; one
  // whose children alone it changed keeps its data.
  std::vector<Change> out;
  std::map<std::string, size_t> at;
  std::vector<std::pair<bool, bool>> made;  // per node: a create, a set
  for (const Change& c : changes) {
    auto [it, fresh] = at.try_emplace(c.path, out.size());
    if (fresh) {
      out.push_back(Change{c.path, ChangeKind::Keep, {}, {}});
      made.emplace_back(false, false);
    }
    Change& f = out[it->second];
    auto& [created, set] = made[it->second];
    f.node = c.node;
    if (c.kind == ChangeKind::Create || c.kind == ChangeKind::Set) f.data = c.data;
    created = created || c.kind == ChangeKind::Create;
    set = set || c.kind == ChangeKind::Set;
    if (c.kind == ChangeKind::Delete) created = set = false;  // what came before is gone
    if (c.kind != ChangeKind::Keep && f.kind == ChangeKind::Keep) f.kind = ChangeKind::Parent;
    if (c.kind == ChangeKind::Delete) f.kind = ChangeKind::Delete;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    Change& f = out[i];
    if (f.kind == ChangeKind::Keep) continue;
    if (!f.node.exists) {
      f.kind = ChangeKind::Delete;
      f.data = Bytes();
    } else if (made[i].first || f.kind == ChangeKind::Delete) {
      f.kind = ChangeKind::Create;  // (deleted and created again: created)
    } else if (made[i].second) {
      f.kind = ChangeKind::Set;
    } else {
      f.kind = ChangeKind::Parent;
      f.data = Bytes();
    }
  }
  return out;
}

std::vector<std::string> UpdateMessage::created_ephemerals() const {
  std::vector<std::string> out;
  if (op == WriteOp::Create && !changes.empty() && changes.front().node.stat.ephemeral_owner &&
      created_path)
    out.push_back(*created_path);
  for (const OpOutcome& o : results)
    if (o.kind == MultiOpKind::Create && o.path && o.stat && o.stat->ephemeral_owner)
      out.push_back(*o.path);
  return out;
}

size_t UpdateMessage::data_bytes() const {
  size_t n = 0;
  for (const Change& c : changes) n += c.data.size();
  return n;
}

Value UpdateMessage::to_message() const {
  ValueList ch;
  ch.reserve(changes.size());
  for (const Change& c : changes) {
    ValueMap j{{"kind", change_kind_name(c.kind)}, {"node", c.node.to_value()}, {"path", c.path}};
    if (c.kind == ChangeKind::Create || c.kind == ChangeKind::Set)
      j.set("data", data_value(c.data));
    ch.emplace_back(std::move(j));
  }
  ValueMap m{{"anchor_key", anchor.second},
             {"anchor_table", anchor.first},
             {"attempt", attempt.to_string()},
             {"changes", Value(std::move(ch))},
             {"op", write_op_name(op)},
             {"req", req},
             {"session", session},
             {"uid", uid}};
  if (expired_last_seen) m.set("last_seen", *expired_last_seen);
  if (created_path) m.set("created_path", *created_path);
  if (op == WriteOp::Multi) m.set("results", outcomes_to_value(results));
  if (watch) set_watch_fields(m, *watch);
  return Value(std::move(m));
}

UpdateMessage UpdateMessage::from_message(const Value& body) {
  UpdateMessage u;
  u.uid = body.at("uid").as_string();
  u.session = body.at("session").as_string();
  u.req = body.at("req").as_number();
  u.op = write_op_from_name(body.at("op").as_string());
  const auto owner = LockOwner::parse(body.at("attempt").as_string());
  if (!owner) throw std::invalid_argument("malformed attempt " + body.at("attempt").as_string());
  u.attempt = *owner;
  u.anchor = {body.at("anchor_table").as_string(), body.at("anchor_key").as_string()};
  if (body.at("last_seen").is_number()) u.expired_last_seen = body.at("last_seen").as_number();
  for (const Value& c : body.at("changes").as_list()) {
    Change ch;
    ch.path = c.at("path").as_string();
    ch.kind = change_kind_from_name(c.at("kind").as_string());
    ch.node = NodeState::from_value(c.at("node"));
    if (ch.kind == ChangeKind::Create || ch.kind == ChangeKind::Set) ch.data = data_from(c);
    u.changes.push_back(std::move(ch));
  }
  if (body.at("created_path").is_string()) u.created_path = body.at("created_path").as_string();
  u.results = outcomes_from_value(body.at("results"));
  if (u.op == WriteOp::AddWatch) u.watch = watch_from(body);
  return u;
}

// --- Epochs, progress, answers ----------------------------------------------------------------

EpochEntry EpochEntry::from_item(const Item& item) {
  return EpochEntry{item.at(attr::kZxid).as_number(), item.strings_of(attr::kSessions)};
}

Value WriteAnswer::to_value() const {
  if (error != Code::Ok) {
    ValueMap m{{"error", code_name(error)}, {"req", req}};
    if (failed_op >= 0) m.set("failed_op", failed_op);
    return Value(std::move(m));
  }
  ValueMap m{{"epoch", epoch_to_value(epoch)}, {"req", req}, {"zxid", zxid}};
  if (path) m.set("path", *path);
  if (stat) m.set("stat", stat_to_value(*stat));
  if (!results.empty()) m.set("results", outcomes_to_value(results));
  return Value(std::move(m));
}

WriteAnswer WriteAnswer::from_value(const Value& v) {
  WriteAnswer a;
  a.req = v.at("req").as_number();
  if (v.at("error").is_string()) {
    a.error = code_from_name(v.at("error").as_string()).value_or(Code::SystemError);
    a.failed_op = static_cast<int>(v.number_or("failed_op", -1));
    return a;
  }
  a.zxid = v.at("zxid").as_number();
  if (v.at("path").is_string()) a.path = v.at("path").as_string();
  if (!v.at("stat").is_null()) a.stat = stat_from_value(v.at("stat"));
  a.results = outcomes_from_value(v.at("results"));
  a.epoch = epoch_from_value(v.at("epoch"));
  return a;
}

Progress Progress::from_item(const Item& item) {
  Progress p;
  p.last_zxid = item.number_or(attr::kLastZxid, 0);
  if (item.at(attr::kLastAnswer).is_map())
    p.last_answer = WriteAnswer::from_value(item.at(attr::kLastAnswer));
  return p;
}

// --- Watches ----------------------------------------------------------------------------------

const char* watch_type_name(WatchType t) {
  switch (t) {
    case WatchType::Data:
      return "data";
    case WatchType::Child:
      return "child";
    case WatchType::Persistent:
      return "persistent";
    case WatchType::Recursive:
      return "recursive";
  }
  return "?";
}

std::optional<WatchType> watch_type_from_name(std::string_view name) {
  for (WatchType t :
       {WatchType::Data, WatchType::Child, WatchType::Persistent, WatchType::Recursive})
    if (name == watch_type_name(t)) return t;
  return std::nullopt;
}

const char* event_name(EventType e) {
  switch (e) {
    case EventType::NodeCreated:
      return "NodeCreated";
    case EventType::NodeDeleted:
      return "NodeDeleted";
    case EventType::NodeDataChanged:
      return "NodeDataChanged";
    case EventType::NodeChildrenChanged:
      return "NodeChildrenChanged";
  }
  return "?";
}

// A registration is packed (decision 43): a layout byte, the id and the session (length and
// bytes each), the zxid (zig-zag varint), the operation's code and the existed flag. A
// registration list is read whole on every look at a node's watches, by the distributor twice
// per update and by the watch function once: a map per registration cost five lookups by name.
constexpr uint8_t kPackedRegistration = 1;
constexpr std::string_view kWatchOps[] = {"get_data", "exists", "get_children", "persistent",
                                          "recursive"};

namespace {
std::invalid_argument damaged_registration(const char* what) {
  return std::invalid_argument(std::string("a damaged watch registration: ") + what);
}
}  // namespace

Value WatchRegistration::to_value() const {
  const auto op_code = std::find(std::begin(kWatchOps), std::end(kWatchOps), op);
  if (op_code == std::end(kWatchOps))
    throw std::invalid_argument("a watch registration of an unknown operation \"" + op + "\"");
  std::string out;
  out.reserve(8 + id.size() + session.size() + 10);
  out.push_back(static_cast<char>(kPackedRegistration));
  put_text(out, id);
  put_text(out, session);
  put_signed(out, zxid);
  out.push_back(static_cast<char>(op_code - std::begin(kWatchOps)));
  out.push_back(static_cast<char>(existed ? 1 : 0));
  return Value(Bytes(std::move(out)));
}

WatchRegistration WatchRegistration::from_value(const Value& v) {
  if (!v.is_bytes()) throw damaged_registration("not packed bytes");
  VarintReader in(v.as_bytes().view());
  uint8_t layout = 0, op = 0, existed = 0;
  std::string_view id, session;
  WatchRegistration r;
  if (!in.byte(layout) || layout != kPackedRegistration)
    throw damaged_registration("an unknown layout");
  if (!in.text(id) || !in.text(session) || !in.signed_number(r.zxid) || !in.byte(op) ||
      !in.byte(existed))
    throw damaged_registration("cut off");
  if (op >= std::size(kWatchOps)) throw damaged_registration("an unknown operation");
  if (existed > 1) throw damaged_registration("an existed flag other than 0 or 1");
  if (!in.done()) throw damaged_registration("bytes beyond its end");
  r.id = std::string(id);
  r.session = std::string(session);
  r.op = std::string(kWatchOps[op]);
  r.existed = existed == 1;
  return r;
}

std::string_view WatchRegistration::id_of(const Value& v) {
  if (!v.is_bytes()) throw damaged_registration("not packed bytes");
  VarintReader in(v.as_bytes().view());
  uint8_t layout = 0;
  std::string_view id;
  if (!in.byte(layout) || layout != kPackedRegistration)
    throw damaged_registration("an unknown layout");
  if (!in.text(id)) throw damaged_registration("cut off");
  return id;
}

nlohmann::json WatchRegistration::to_json() const {
  return nlohmann::json{
      {"id", id}, {"session", session}, {"zxid", zxid}, {"op", op}, {"existed", existed}};
}

WatchList WatchList::from_item(const Item& item) {
  WatchList l;
  if (item.at(attr::kRegs).is_list()) {
    const ValueList& regs = item.at(attr::kRegs).as_list();
    l.regs.reserve(regs.size());
    for (const Value& r : regs) l.regs.push_back(WatchRegistration::from_value(r));
  }
  l.ver = item.number_or(attr::kVer, 0);
  return l;
}

// The watch message is packed too: a layout byte, the zxid, the owed sessions (count, then
// each), the events (count of sessions, then per session its name and count, then per event
// its registration, event code and path), the fired registrations (count of keys, then per key
// the key and its ids). It carries an event per fired registration: 10,000 watchers of a node
// make one message of 10,000 events.
constexpr uint8_t kPackedWatchMessage = 1;

namespace {
// The greatest name of a sorted set, or of a map's keys.
const std::string& last_name(const std::set<std::string>& s) { return *s.rbegin(); }
template <class V>
const std::string& last_name(const std::map<std::string, V>& m) {
  return m.rbegin()->first;
}
}  // namespace

Value WatchMessage::to_message() const {
  size_t room = 16;
  for (const auto& s : owed) room += s.size() + 2;
  for (const auto& [session, list] : events) {
    room += session.size() + 4;
    for (const FiredEvent& e : list) room += e.id.size() + e.path.size() + 5;
  }
  for (const auto& [key, ids] : fired) {
    room += key.size() + 4;
    for (const auto& id : ids) room += id.size() + 2;
  }
  std::string out;
  out.reserve(room);
  out.push_back(static_cast<char>(kPackedWatchMessage));
  put_signed(out, zxid);
  put_varint(out, owed.size());
  for (const auto& s : owed) put_text(out, s);
  put_varint(out, events.size());
  for (const auto& [session, list] : events) {
    put_text(out, session);
    put_varint(out, list.size());
    for (const FiredEvent& e : list) {
      put_text(out, e.id);
      // The event's code; with bit 7, the trigger's index follows the path; with bit 6, then
      // the node's ACL.
      out.push_back(static_cast<char>(static_cast<int>(e.event) | (e.trigger >= 0 ? 0x80 : 0) |
                                      (e.acl.empty() ? 0 : 0x40)));
      put_text(out, e.path);
      if (e.trigger >= 0) put_varint(out, static_cast<uint64_t>(e.trigger));
      if (!e.acl.empty()) append_packed_acl(out, e.acl);
    }
  }
  size_t keys = 0;
  for (const auto& entry : fired) keys += entry.second.empty() ? 0 : 1;
  put_varint(out, keys);
  for (const auto& [key, ids] : fired) {
    if (ids.empty()) continue;
    put_text(out, key);
    put_varint(out, ids.size());
    for (const auto& id : ids) put_text(out, id);
  }
  return Value(Bytes(std::move(out)));
}

WatchMessage WatchMessage::from_message(const Value& body) {
  auto damaged = [](const char* what) {
    return std::invalid_argument(std::string("a damaged watch message: ") + what);
  };
  if (!body.is_bytes()) throw damaged("not packed bytes");
  VarintReader in(body.as_bytes().view());
  WatchMessage m;
  uint8_t layout = 0;
  uint64_t count = 0;
  std::string_view text;
  if (!in.byte(layout) || layout != kPackedWatchMessage) throw damaged("an unknown layout");
  if (!in.signed_number(m.zxid) || !in.varint(count)) throw damaged("cut off");
  // Sessions and keys come in strictly increasing order, as a message writes them.
  auto in_order = [&](const auto& sorted) {
    if (!sorted.empty() && text <= std::string_view(last_name(sorted)))
      throw damaged("names out of order or repeated");
  };
  // A group's name (into `text`) and its count, never 0.
  auto group = [&](const auto& sorted, const char* empty) {
    uint64_t n = 0;
    if (!in.text(text) || !in.varint(n)) throw damaged("cut off");
    in_order(sorted);
    if (n == 0) throw damaged(empty);
    if (n > in.left()) throw damaged("cut off");
    return n;
  };
  for (uint64_t i = 0; i < count; ++i) {
    if (!in.text(text)) throw damaged("cut off");
    in_order(m.owed);
    m.owed.emplace_hint(m.owed.end(), text);
  }
  if (!in.varint(count)) throw damaged("cut off");
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t n = group(m.events, "a session without events");
    std::vector<FiredEvent>& out =
        m.events.emplace_hint(m.events.end(), std::string(text), std::vector<FiredEvent>())->second;
    out.reserve(n);
    for (uint64_t j = 0; j < n; ++j) {
      std::string_view id, path;
      uint8_t event = 0;
      uint64_t trigger = 0;
      if (!in.text(id) || !in.byte(event) || !in.text(path)) throw damaged("cut off");
      const bool with_trigger = (event & 0x80) != 0;
      const bool with_acl = (event & 0x40) != 0;
      event &= 0x3f;
      if (event > static_cast<uint8_t>(EventType::NodeChildrenChanged))
        throw damaged("an unknown event");
      if (with_trigger && (!in.varint(trigger) || trigger > INT32_MAX))
        throw damaged("a cut or impossible trigger");
      Acl acl;
      if (with_acl && (!read_packed_acl(in, acl, body.as_bytes().size()) || acl.empty()))
        throw damaged("a cut or empty ACL");
      out.push_back(FiredEvent{std::string(id), static_cast<EventType>(event), std::string(path),
                               with_trigger ? static_cast<int64_t>(trigger) : -1, std::move(acl)});
    }
  }
  if (!in.varint(count)) throw damaged("cut off");
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t n = group(m.fired, "a key without registrations");
    std::vector<std::string>& ids =
        m.fired.emplace_hint(m.fired.end(), text, std::vector<std::string>())->second;
    ids.reserve(n);
    for (uint64_t j = 0; j < n; ++j) {
      std::string_view id;
      if (!in.text(id)) throw damaged("cut off");
      ids.emplace_back(id);
    }
  }
  if (!in.done()) throw damaged("bytes beyond its end");
  return m;
}

nlohmann::json WatchMessage::to_json() const {
  nlohmann::json ev = nlohmann::json::object();
  for (const auto& [session, list] : events) {
    nlohmann::json l = nlohmann::json::array();
    for (const FiredEvent& e : list)
      l.push_back({{"id", e.id}, {"event", event_name(e.event)}, {"path", e.path}});
    ev[session] = std::move(l);
  }
  nlohmann::json fi = nlohmann::json::object();
  for (const auto& [key, ids] : fired) fi[key] = ids;
  return nlohmann::json{{"zxid", zxid}, {"owed", owed}, {"events", ev}, {"fired", fi}};
}

// --- The user store -----------------------------------------------------------------------------

// The fields of a user record that no reader takes alone, packed in one attribute (decision
// 41): a layout byte, the packed stat (length and bytes), the children (count, then each),
// the epoch (count, then per entry its zxid and its sessions), and the update (0, or 1 and
// the packed triggers, length and bytes). The data, the zxid and a tombstone stay attributes
// of their own: the distributor reads them alone.
constexpr uint8_t kPackedRecord = 1;

Value UserRecord::to_object() const {
  std::string packed;
  size_t room = 48;
  for (const std::string& c : children) room += c.size() + 2;
  packed.reserve(room);
  packed.push_back(static_cast<char>(kPackedRecord));
  std::string part;
  part.reserve(32);
  if (!tombstone) append_packed_stat(part, stat);
  put_text(packed, part);
  put_strings(packed, tombstone ? std::vector<std::string>() : children);
  put_varint(packed, epoch.size());
  for (const EpochEntry& e : epoch) {
    put_signed(packed, e.zxid);
    put_strings(packed, e.sessions);
  }
  // Flags: 2 an ACL follows (decision 50). (1, the update's triggers inline, is only read: they
  // are an attribute of their own, shared by the update's records, since state format 9.)
  const bool with_acl = !tombstone && !acl.empty();
  packed.push_back(static_cast<char>(with_acl ? 2 : 0));
  if (with_acl) append_packed_acl(packed, acl);
  ValueMap o;
  o.reserve(4);
  if (!packed_update.is_null()) {
    o.set(attr::kUpdate, packed_update);
  } else if (update) {
    o.set(attr::kUpdate, update->to_value());
  }
  if (!tombstone) o.set(attr::kData, data_value(data));
  o.set(attr::kRecord, Bytes(std::move(packed)));
  if (tombstone) o.set(attr::kTombstone, *tombstone);
  if (zxid != 0) o.set(attr::kZxid, zxid);
  return Value(std::move(o));
}

UserRecord UserRecord::from_object(const Value& object,
                                   const std::function<bool(int64_t)>& wants_update) {
  auto damaged = [](const char* what) {
    return std::invalid_argument(std::string("a damaged user record: ") + what);
  };
  UserRecord r;
  if (object.at(attr::kTombstone).is_number())
    r.tombstone = object.at(attr::kTombstone).as_number();
  r.data = data_of(object);
  r.zxid = zxid_of(object);
  const Value& packed = object.at(attr::kRecord);
  if (!packed.is_bytes()) throw damaged("no packed record");
  VarintReader in(packed.as_bytes().view());
  const size_t size = packed.as_bytes().size();
  uint8_t layout = 0, has_update = 0;
  std::string_view part;
  uint64_t count = 0;
  if (!in.byte(layout) || layout != kPackedRecord) throw damaged("an unknown layout");
  if (!in.text(part) || !take_strings(in, r.children, size) || !in.varint(count))
    throw damaged("cut off");
  if (!r.tombstone) r.stat = read_packed_stat(part);
  for (uint64_t i = 0; i < count; ++i) {
    EpochEntry e;
    if (!in.signed_number(e.zxid) || !take_strings(in, e.sessions, size)) throw damaged("cut off");
    r.epoch.push_back(std::move(e));
  }
  if (!in.byte(has_update)) throw damaged("cut off");
  if (has_update > 3) throw damaged("flags other than update and ACL");
  if (has_update & 1) {  // (a state file of format 8 or older)
    if (!in.text(part)) throw damaged("cut off");
    r.update = UpdateTriggers::from_packed(part);
  } else if (const Value& u = object.at(attr::kUpdate); !u.is_null()) {
    if (!u.is_bytes()) throw damaged("an update that is not packed bytes");
    if (!wants_update || wants_update(UpdateTriggers::zxid_of_packed(u.as_bytes().view())))
      r.update = UpdateTriggers::from_value(u);
  }
  if ((has_update & 2) != 0 && (!read_packed_acl(in, r.acl, size) || r.acl.empty()))
    throw damaged("a cut or empty ACL");
  if (!in.done()) throw damaged("bytes beyond its end");
  return r;
}

nlohmann::json UserRecord::to_json() const {
  nlohmann::json epoch_json = nlohmann::json::array();
  for (const EpochEntry& e : epoch)
    epoch_json.push_back({{"zxid", e.zxid}, {"sessions", e.sessions}});
  nlohmann::json j{{"zxid", zxid}, {"epoch", std::move(epoch_json)}};
  if (tombstone) {
    j["tombstone"] = *tombstone;
  } else {
    j["stat"] = stat_to_json(stat);
    j["children"] = children;
    if (!acl.empty()) j["acl"] = acl_to_json(acl);
  }
  if (update) j["update"] = update->to_json();
  return j;
}

Bytes UserRecord::data_of(const Value& object) {
  const Value& d = object.at(attr::kData);
  if (d.is_null() && object.contains(attr::kData)) return Bytes::null();
  return d.is_bytes() ? d.as_bytes() : Bytes();
}

int64_t UserRecord::zxid_of(const Value& object) { return object.number_or(attr::kZxid, 0); }

}  // namespace fkemu
