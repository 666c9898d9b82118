#include "emulator/operation.h"

#include "core/model/path.h"
#include "core/text/base64.h"
#include "emulator/digest.h"
#include "emulator/json_fields.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

const std::set<std::string> kNodeOps = {"create",       "get_data", "exists",
                                        "get_children", "set_data", "delete",
                                        "add_watch",    "set_acl",  "get_acl"};
const std::set<std::string> kMultiOps = {"create", "delete", "set_data", "check"};
const std::set<std::string> kSessionOps = {"close", "expire", "add_auth"};
const std::set<std::string> kReadOps = {"get_data", "exists", "get_children"};

void parse_expect(const json& e) {
  if (!e.is_object()) throw FieldError{"\"expect\" must be an object"};
  check_fields(e, {"ok", "error", "data", "data_b64", "path", "children", "stat"}, "expect");
  if (e.contains("ok") && !e["ok"].is_boolean())
    throw FieldError{"expect.ok must be true or false"};
  if (e.contains("error")) {
    if (!e["error"].is_string()) throw FieldError{"expect.error must be a string"};
    if (!code_from_name(e["error"].get<std::string>()) || e["error"] == "Ok")
      throw FieldError{"expect.error \"" + e["error"].get<std::string>() +
                       "\" is not a ZooKeeper error name"};
  }
  for (const char* k : {"data", "data_b64", "path"})
    if (e.contains(k) && !e[k].is_string())
      throw FieldError{std::string("expect.") + k + " must be a string"};
  if (e.contains("children")) {
    if (!e["children"].is_array()) throw FieldError{"expect.children must be an array of names"};
    for (const auto& c : e["children"])
      if (!c.is_string()) throw FieldError{"expect.children must be an array of names"};
  }
  if (e.contains("stat") && !e["stat"].is_object() && !e["stat"].is_null())
    throw FieldError{"expect.stat must be an object or null"};
}

// An ACL: an array of {"scheme", "id", "perms"} (perms: letters out of "cdrwa").
Acl parse_acl(const json& a) {
  if (!a.is_array()) throw FieldError{"field \"acl\" must be an array of entries"};
  Acl out;
  for (const json& e : a) {
    if (!e.is_object()) throw FieldError{"an acl entry must be an object"};
    check_fields(e, {"scheme", "id", "perms"}, "an acl entry");
    for (const char* k : {"scheme", "id", "perms"})
      if (!e.contains(k)) throw FieldError{std::string("an acl entry needs \"") + k + "\""};
    AclEntry entry;
    entry.scheme = get_string(e, "scheme", "an acl entry");
    entry.id = get_string(e, "id", "an acl entry");
    const std::string letters = get_string(e, "perms", "an acl entry");
    auto perms = perms_from_letters(letters);
    if (!perms)
      throw FieldError{"acl perms \"" + letters + "\" must be letters out of \"cdrwa\", each once"};
    entry.perms = *perms;
    out.push_back(std::move(entry));
  }
  return out;
}

// The fields of a node operation (a step's, or one of a multi's ops).
void parse_node_fields(const json& s, Step& st);

// A multi's "ops": an array of operations, each create, delete, set_data or check.
std::vector<Step> parse_multi_ops(const json& ops) {
  if (!ops.is_array()) throw FieldError{"field \"ops\" must be an array of operations"};
  std::vector<Step> out;
  for (size_t i = 0; i < ops.size(); ++i) {
    try {
      const json& o = ops[i];
      if (!o.is_object()) throw FieldError{"must be an object"};
      if (!o.contains("op")) throw FieldError{"missing field \"op\""};
      Step sub;
      sub.index = i;
      sub.op = get_string(o, "op", "the operation");
      if (!kMultiOps.count(sub.op))
        throw FieldError{"op \"" + sub.op +
                         "\" cannot be part of a multi (create, delete, set_data, check)"};
      parse_node_fields(o, sub);
      out.push_back(std::move(sub));
    } catch (const FieldError& f) {
      throw FieldError{"ops[" + std::to_string(i) + "]: " + f.msg};
    }
  }
  return out;
}

Step parse_step_or_throw(const json& s, size_t index, const std::set<std::string>& sessions) {
  if (!s.is_object()) throw FieldError{"a step must be an object"};
  Step st;
  st.index = index;
  if (s.contains("wait_ms")) {
    check_fields(s, {"wait_ms"}, "a wait step");
    st.is_wait = true;
    st.wait_ms = get_int(s, "wait_ms", "the step", 0, 24LL * 3600 * 1000);
    return st;
  }
  if (!s.contains("op")) throw FieldError{"missing field \"op\""};
  st.op = get_string(s, "op", "the step");
  if (!kNodeOps.count(st.op) && !kSessionOps.count(st.op) && st.op != "multi")
    throw FieldError{"unknown op \"" + st.op + "\""};
  if (!s.contains("session")) throw FieldError{"missing field \"session\""};
  st.session = get_string(s, "session", "the step");
  if (!sessions.count(st.session))
    throw FieldError{"session \"" + st.session + "\" is not declared in \"sessions\""};

  if (st.op == "add_auth") {
    check_fields(s, {"op", "session", "expect", "scheme", "auth"}, "an add_auth step");
    if (!s.contains("scheme")) throw FieldError{"missing field \"scheme\""};
    st.scheme = get_string(s, "scheme", "the step");
    if (st.scheme != "digest")
      throw FieldError{"scheme \"" + st.scheme + "\" is not supported (only \"digest\")"};
    if (!s.contains("auth")) throw FieldError{"missing field \"auth\" (user:password)"};
    st.auth = get_string(s, "auth", "the step");
  } else if (st.op == "multi") {
    check_fields(s, {"op", "session", "expect", "ops"}, "a multi step");
    if (!s.contains("ops")) throw FieldError{"missing field \"ops\""};
    st.ops = parse_multi_ops(s["ops"]);
  } else if (kNodeOps.count(st.op)) {
    parse_node_fields(s, st);
  } else {
    check_fields(s, {"op", "session", "expect"}, "a " + st.op + " step");
  }
  if (s.contains("expect")) {
    parse_expect(s["expect"]);
    st.expect = s["expect"];
  }
  return st;
}

void parse_node_fields(const json& s, Step& st) {
  const bool in_multi = st.session.empty();
  std::set<std::string> allowed = {"op", "path"};
  if (!in_multi) {
    allowed.insert("session");
    allowed.insert("expect");
  }
  if (st.op == "create" || st.op == "set_data") {
    allowed.insert("data");
    allowed.insert("data_b64");
  }
  if (st.op == "create") {
    allowed.insert("flags");
    allowed.insert("ttl_ms");
  }
  if (st.op == "create" || st.op == "set_acl") allowed.insert("acl");
  if (kReadOps.count(st.op)) allowed.insert("watch");
  if (st.op == "add_watch") allowed.insert("recursive");
  if (st.op == "set_data" || st.op == "delete" || st.op == "check" || st.op == "set_acl")
    allowed.insert("version");
  check_fields(s, allowed, in_multi ? "a multi's " + st.op : "a " + st.op + " step");

  if (!s.contains("path")) throw FieldError{"missing field \"path\""};
  st.path = get_string(s, "path", "the step");
  if (s.contains("data") && s.contains("data_b64"))
    throw FieldError{"give \"data\" or \"data_b64\", not both"};
  if (s.contains("data")) st.data = get_string(s, "data", "the step");
  if (s.contains("data_b64")) {
    auto bytes = base64_decode(get_string(s, "data_b64", "the step"));
    if (!bytes) throw FieldError{"field \"data_b64\" is not valid base64"};
    st.data = *bytes;
  }
  if (s.contains("flags")) {
    if (!s["flags"].is_array()) throw FieldError{"field \"flags\" must be an array"};
    for (const auto& f : s["flags"]) {
      if (!f.is_string()) throw FieldError{"field \"flags\" must be an array of strings"};
      const std::string flag = f.get<std::string>();
      if (flag == "ephemeral") {
        st.ephemeral = true;
      } else if (flag == "sequential") {
        st.sequential = true;
      } else if (flag == "container") {
        st.container = true;
      } else {
        throw FieldError{"unknown flag \"" + flag + "\" (known: ephemeral, sequential, container)"};
      }
      st.flags.push_back(flag);
    }
    // ZooKeeper's create modes: a container is neither ephemeral nor sequential.
    if (st.container && (st.ephemeral || st.sequential))
      throw FieldError{"flag \"container\" cannot be combined with ephemeral or sequential"};
  }
  if (s.contains("watch")) {
    if (!s["watch"].is_boolean()) throw FieldError{"field \"watch\" must be true or false"};
    st.watch = s["watch"].get<bool>();
  }
  if (s.contains("acl")) st.acl = parse_acl(s["acl"]);
  if (st.op == "set_acl" && !st.acl) throw FieldError{"missing field \"acl\""};
  if (s.contains("recursive")) {
    if (!s["recursive"].is_boolean()) throw FieldError{"field \"recursive\" must be true or false"};
    st.recursive = s["recursive"].get<bool>();
  }
  if (s.contains("version"))
    st.version = static_cast<int>(get_int(s, "version", "the step", -1, INT32_MAX));
  if (s.contains("ttl_ms")) st.ttl_ms = get_int(s, "ttl_ms", "the step", INT64_MIN, INT64_MAX);
}

}  // namespace

Result<Step> parse_step(const json& step, size_t index, const std::set<std::string>& sessions) {
  try {
    return parse_step_or_throw(step, index, sessions);
  } catch (const FieldError& f) {
    return Status(Code::BadArguments, f.msg);
  } catch (const json::exception& e) {
    return Status(Code::BadArguments, e.what());
  }
}

Result<Step> parse_operation(const json& op, const std::string& session) {
  try {
    if (!op.is_object()) throw FieldError{"an operation must be a JSON object"};
    if (op.contains("session")) throw FieldError{"unknown field \"session\" (the URL names it)"};
    if (op.contains("wait_ms")) throw FieldError{"unknown field \"wait_ms\""};
    json with = op;
    with["session"] = session;
    Step st = parse_step_or_throw(with, 0, {session});
    if (st.op == "expire") throw FieldError{"unknown op \"expire\""};
    return st;
  } catch (const FieldError& f) {
    return Status(Code::BadArguments, f.msg);
  }
}

Task<OpResult> perform_step(ClientSession& s, const Step& st) {
  if (st.op == "create")
    co_return co_await s.create(st.path, st.data, st.ephemeral, st.sequential, st.container, st.acl,
                                st.ttl_ms);
  if (st.op == "add_auth") {
    if (s.closed()) co_return OpResult::failure(Status(Code::SessionExpired, "session closed"));
    // (one element pushed: GCC 12 mis-builds a braced list inside a coroutine)
    std::vector<Identity> added;
    added.push_back(digest_identity(st.auth));
    co_return co_await s.add_identities(std::move(added));
  }
  if (st.op == "set_acl") co_return co_await s.set_acl(st.path, *st.acl, st.version);
  if (st.op == "get_acl") co_return co_await s.get_acl(st.path);
  if (st.op == "get_data") co_return co_await s.get_data(st.path, st.watch);
  if (st.op == "exists") co_return co_await s.exists(st.path, st.watch);
  if (st.op == "get_children") co_return co_await s.get_children(st.path, st.watch);
  if (st.op == "set_data") co_return co_await s.set_data(st.path, st.data, st.version);
  if (st.op == "delete") co_return co_await s.remove(st.path, st.version);
  if (st.op == "multi") {
    std::vector<MultiOp> ops;
    for (const Step& o : st.ops) {
      if (o.op == "create") {
        CreateRequest c;
        c.path = o.path;
        c.data = o.data;
        c.ephemeral = o.ephemeral;
        c.sequential = o.sequential;
        c.container = o.container;
        c.ttl_ms = o.ttl_ms;
        c.acl = o.acl;
        ops.emplace_back(std::move(c));
      } else if (o.op == "delete") {
        ops.emplace_back(DeleteRequest{o.path, o.version});
      } else if (o.op == "set_data") {
        SetDataRequest d;
        d.path = o.path;
        d.data = o.data;
        d.version = o.version;
        ops.emplace_back(std::move(d));
      } else {
        ops.emplace_back(CheckRequest{o.path, o.version});
      }
    }
    co_return co_await s.multi(std::move(ops));
  }
  if (st.op == "add_watch") {
    // ZooKeeper's clients check the path before they send an addWatch.
    if (Status bad = validate_client_path(st.path); !bad.is_ok()) co_return OpResult::failure(bad);
    co_return co_await s.add_watch(st.path, st.recursive);
  }
  if (st.op == "close") co_return co_await s.close();
  if (st.op == "expire") s.stop_answering_heartbeats();
  co_return OpResult{};
}

json invocation_fields(const Step& st) {
  json inv{{"op", st.op}};
  if (st.op == "multi") {
    json ops = json::array();
    for (const Step& o : st.ops) ops.push_back(invocation_fields(o));
    inv["ops"] = std::move(ops);
    return inv;
  }
  if (st.op == "add_auth") {
    inv["scheme"] = st.scheme;
    inv["auth"] = st.auth;
    return inv;
  }
  if (st.op != "close" && st.op != "expire") inv["path"] = st.path;
  if (st.acl) inv["acl"] = acl_json(*st.acl);
  if (st.op == "create" || st.op == "set_data") put_data_field(st.data, "data", "data_b64", inv);
  if (st.op == "create" && !st.flags.empty()) inv["flags"] = st.flags;
  if (st.ttl_ms) inv["ttl_ms"] = *st.ttl_ms;
  if (st.watch) inv["watch"] = true;
  if (st.recursive) inv["recursive"] = true;
  if ((st.op == "set_data" || st.op == "delete" || st.op == "check" || st.op == "set_acl") &&
      st.version != -1)
    inv["version"] = st.version;
  return inv;
}

json acl_json(const Acl& acl) {
  json out = json::array();
  for (const AclEntry& e : acl)
    out.push_back(json{{"scheme", e.scheme}, {"id", e.id}, {"perms", perms_letters(e.perms)}});
  return out;
}

json answer_fields(const OpResult& r) {
  json ans{{"kind", r.status.is_ok() ? "ok" : "error"}};
  if (r.status.is_ok()) {
    ans.update(r.fields());
    if (r.acl) ans["acl"] = acl_json(*r.acl);
    if (r.has_data) put_data_field(r.data.view(), "data", "data_b64", ans);
    if (r.zxid) ans["zxid"] = r.zxid;  // the committed write's zxid, for the checker
  } else {
    ans["error"] = std::string(code_name(r.status.code()));
    if (r.failed_op >= 0) ans["failed_op"] = r.failed_op;
  }
  return ans;
}

}  // namespace fkemu
