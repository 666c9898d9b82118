// The operation format: one node or session operation as a scenario step has it
// (docs/scenarios.md), which is also the request format of fkemu serve (docs/api.md); and the
// history fields of its invocation and its answer. The scenario loader (harness/scenario.h) reads
// whole files of steps; the server reads one operation per request; both run them with
// perform_step().
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/protocol/client_session.h"
#include "core/runtime/task.h"
#include "core/status.h"
#include "core/text/base64.h"

namespace fkemu {

struct Step {
  size_t index = 0;  // position in "steps"
  bool is_wait = false;
  int64_t wait_ms = 0;
  std::string session;
  // create get_data exists get_children set_data delete multi add_watch close expire; in a
  // multi's ops: create delete set_data check
  std::string op;
  std::string path;
  std::string data;  // bytes (from data or data_b64)
  bool ephemeral = false;
  bool sequential = false;
  bool container = false;
  // create: a TTL node's time to live (ZooKeeper's TTL modes; decision 53); the writer answers
  // BadArguments for one out of 1..2^40-1 or with the ephemeral or container flag.
  std::optional<int64_t> ttl_ms;
  std::vector<std::string> flags;  // as written, for the history
  bool watch = false;
  bool recursive = false;  // add_watch
  int version = -1;        // set_acl: the aversion
  std::optional<Acl> acl;  // create (absent: world:anyone, all) and set_acl
  std::string scheme;      // add_auth: "digest"
  std::string auth;        // add_auth: "user:password"
  std::vector<Step> ops;   // multi: its operations, in order
  nlohmann::json expect;   // null when absent
};

// An ACL as the operation format writes it: [{"scheme": "digest", "id": "u:hash", "perms":
// "cdrwa"}, ...] (zkCli's permission letters).
nlohmann::json acl_json(const Acl& acl);

// Step `index` of a scenario whose sessions are `sessions`: refused (BadArguments, naming the
// problem but not the step, which the caller names) if a field is unknown, missing or mistyped,
// the op or a flag unknown, or the session not declared. An invalid path is not refused: the
// step runs and is answered BadArguments, as ZooKeeper would answer.
Result<Step> parse_step(const nlohmann::json& step, size_t index,
                        const std::set<std::string>& sessions);
// One operation for session `session` (the operation names no session; fkemu serve's requests
// use this format). Refused as parse_step refuses a step; "expire" and "wait_ms" are not
// operations.
Result<Step> parse_operation(const nlohmann::json& op, const std::string& session);

// One step's operation on its session's client library (expire: it stops answering pings).
Task<OpResult> perform_step(ClientSession& session, const Step& step);
// The invocation line of a step, and the answer line of its result (kind ok or error, and its
// fields), as the history has them (without id, session and t).
nlohmann::json invocation_fields(const Step& step);
nlohmann::json answer_fields(const OpResult& result);

}  // namespace fkemu
