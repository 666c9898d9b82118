#include "emulator/operation.h"

#include "core/text/base64.h"
#include "emulator/json_fields.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

const std::set<std::string> kNodeOps = {"create",       "get_data", "exists",
                                        "get_children", "set_data", "delete"};
const std::set<std::string> kSessionOps = {"close", "expire"};
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
  if (!kNodeOps.count(st.op) && !kSessionOps.count(st.op))
    throw FieldError{"unknown op \"" + st.op + "\""};
  if (!s.contains("session")) throw FieldError{"missing field \"session\""};
  st.session = get_string(s, "session", "the step");
  if (!sessions.count(st.session))
    throw FieldError{"session \"" + st.session + "\" is not declared in \"sessions\""};

  std::set<std::string> allowed = {"op", "session", "expect"};
  if (kNodeOps.count(st.op)) allowed.insert("path");
  if (st.op == "create" || st.op == "set_data") {
    allowed.insert("data");
    allowed.insert("data_b64");
  }
  if (st.op == "create") allowed.insert("flags");
  if (kReadOps.count(st.op)) allowed.insert("watch");
  if (st.op == "set_data" || st.op == "delete") allowed.insert("version");
  check_fields(s, allowed, "a " + st.op + " step");

  if (kNodeOps.count(st.op)) {
    if (!s.contains("path")) throw FieldError{"missing field \"path\""};
    st.path = get_string(s, "path", "the step");
  }
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
      } else {
        throw FieldError{"unknown flag \"" + flag + "\" (known: ephemeral, sequential)"};
      }
      st.flags.push_back(flag);
    }
  }
  if (s.contains("watch")) {
    if (!s["watch"].is_boolean()) throw FieldError{"field \"watch\" must be true or false"};
    st.watch = s["watch"].get<bool>();
  }
  if (s.contains("version"))
    st.version = static_cast<int>(get_int(s, "version", "the step", -1, INT32_MAX));
  if (s.contains("expect")) {
    parse_expect(s["expect"]);
    st.expect = s["expect"];
  }
  return st;
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
  if (st.op == "create") co_return co_await s.create(st.path, st.data, st.ephemeral, st.sequential);
  if (st.op == "get_data") co_return co_await s.get_data(st.path, st.watch);
  if (st.op == "exists") co_return co_await s.exists(st.path, st.watch);
  if (st.op == "get_children") co_return co_await s.get_children(st.path, st.watch);
  if (st.op == "set_data") co_return co_await s.set_data(st.path, st.data, st.version);
  if (st.op == "delete") co_return co_await s.remove(st.path, st.version);
  if (st.op == "close") co_return co_await s.close();
  if (st.op == "expire") s.stop_answering_heartbeats();
  co_return OpResult{};
}

json invocation_fields(const Step& st) {
  json inv{{"op", st.op}};
  if (st.op != "close" && st.op != "expire") inv["path"] = st.path;
  if (st.op == "create" || st.op == "set_data") put_data_field(st.data, "data", "data_b64", inv);
  if (st.op == "create" && !st.flags.empty()) inv["flags"] = st.flags;
  if (st.watch) inv["watch"] = true;
  if ((st.op == "set_data" || st.op == "delete") && st.version != -1) inv["version"] = st.version;
  return inv;
}

json answer_fields(const OpResult& r) {
  json ans{{"kind", r.status.is_ok() ? "ok" : "error"}};
  if (r.status.is_ok()) {
    ans.update(r.fields());
    if (r.has_data) put_data_field(r.data.view(), "data", "data_b64", ans);
    if (r.zxid) ans["zxid"] = r.zxid;  // the committed write's zxid, for the checker
  } else {
    ans["error"] = std::string(code_name(r.status.code()));
  }
  return ans;
}

}  // namespace fkemu
