// The history, parsed: the compact records parse() reads the history's JSON into (an Op per
// invocation with what its answer said, a WatchLine per event, a Role per line the pass in
// history order looks at), and the reading of JSON members without copying. Strings in them
// are views into the history, which outlives the check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/model/acl.h"
#include "core/model/stat.h"
#include "harness/checker/containers.h"

namespace fkemu::checker_detail {

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
  Multi,
  AddWatch,
  SetAcl,
  GetAcl,
  AddAuth,
  Other
};

// (add_watch counts as a write: in fkemu it is an update with a zxid of its own, decision 51.)
inline bool is_write_op(OpKind k) {
  return k == OpKind::Create || k == OpKind::SetData || k == OpKind::Delete || k == OpKind::Close ||
         k == OpKind::Multi || k == OpKind::AddWatch || k == OpKind::SetAcl;
}
inline bool is_read_op(OpKind k) {
  return k == OpKind::GetData || k == OpKind::Exists || k == OpKind::GetChildren ||
         k == OpKind::GetAcl;
}
// Errors the server decides from the tree (a failed write must be one the model gives).
inline bool is_tree_error(std::string_view e) {
  return e == "NoNode" || e == "NodeExists" || e == "NotEmpty" || e == "BadVersion" ||
         e == "NoChildrenForEphemerals" || e == "BadArguments" || e == "NoAuth" ||
         e == "InvalidACL";
}
// Errors a closed session may still get: the client refuses these before looking at it.
inline bool is_client_side_error(std::string_view e) {
  return e == "BadArguments" || e == "MarshallingError";
}

// A view of a string member (empty when absent or not a string). It points into the history.
inline std::string_view str(const nlohmann::json* v) {
  const std::string* s = v ? v->get_ptr<const std::string*>() : nullptr;
  return s ? std::string_view(*s) : std::string_view();
}
inline int64_t num(const nlohmann::json* v, int64_t dflt = 0) {
  return v && v->is_number_integer() ? v->get<int64_t>() : dflt;
}
// j[k], or null when j is not an object or has no member k.
inline const nlohmann::json* find_member(const nlohmann::json& j, const char* k) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(k);
  return it == j.end() ? nullptr : &*it;
}
inline int64_t num(const nlohmann::json& j, const char* k, int64_t dflt = 0) {
  auto it = j.find(k);
  return it != j.end() ? num(&*it, dflt) : dflt;
}

// An ACL as the history writes it ([{"scheme", "id", "perms": "cdrwa"}]); malformed entries
// read as empty fields.
Acl acl_of(const nlohmann::json& a);
// A stat object as the history has it, mistyped fields read as 0.
Stat tolerant_stat(const nlohmann::json& st);

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
  bool container = false, recursive = false;
  std::optional<int64_t> ttl_ms;  // create: a TTL node's time to live
  bool service = false;           // a "service" line: an update of the service's own (a container's
                                  // or a TTL node's cleanup), committed at that line, invoked by
                                  // nobody
  int multi = -1;                 // a multi: index into Checker::multis_ (its operations)
  int failed_op = -1;             // a refused multi: the operation its answer names
  const nlohmann::json* results = nullptr;  // an ok multi: its "results"
  const nlohmann::json* acl = nullptr;      // create, set_acl: the ACL asked for; get_acl: answered
  int ids = 0;  // the session's identities when it was invoked: Checker::identity_sets_
  // The answer, as parse() read it (later passes do not look at the history's JSON again).
  bool ok = false;
  bool stat_null = false;  // its "stat" is null (exists: no such node)
  int stat = -1;           // index into stats_ when its "stat" is an object
  int created = -1;        // an ok create: its "path", the node created
  size_t answer = kNoLine;
  std::string_view error;                    // its error name
  const nlohmann::json* children = nullptr;  // get_children: its "children"
  int64_t zxid = kNone;                      // a committed write's zxid
  int64_t answered_max = 0;                  // highest write zxid answered before this invoke
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

}  // namespace fkemu::checker_detail
