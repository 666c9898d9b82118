// Update: a write request after the writer validated it, on its way through the distributor
// queue, and the commit transaction both the writer and the distributor build from it.
//
// Records of the system store (table "nodes", key = path):
//   exists      bool; a deleted node keeps its record (pending updates and locks live there)
//   stat        the node's Stat in history form (stat_to_json), zxids of the last commit
//   children    sorted child names
//   creates     number of children ever created under it (the sequential suffix)
//   lock, lock_owner   timelock: acquisition time (µs) and the writer attempt holding it
//   pending     ids of committed updates the distributor has not applied yet, in zxid order
// Session records (table "sessions", key = session name): alive, last_req (highest request
// number decided), last_error ({req, error} of the last request that failed), ephemerals.
//
// An update message body:
//   {uid, session, req, op, attempt, anchor: {table, key}, changes: [Change...], result}
// where a Change is {path, kind: create|set|delete|parent, node: <system record fields>,
// data: <binary, create/set only>}. Fields that depend on the zxid (czxid, mzxid, pzxid) are
// filled by materialize() once the queue has assigned the sequence number.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/services/kv_store.h"

namespace fkemu {

// Sets the zxid-dependent stat fields of a change's node record.
nlohmann::json materialize(const nlohmann::json& change, int64_t zxid);

// The one commit transaction: every locked item written and unlocked on the condition that the
// attempt still holds its lock, the update appended to the anchor's pending list, and the
// session's last_req advanced on the condition that the request was not decided before.
std::vector<KvWrite> build_commit(const nlohmann::json& update, int64_t zxid);

bool list_contains(const nlohmann::json& item, const char* attr, const std::string& value);

// The user-visible record of a node: {data, stat, children}.
nlohmann::json user_record(const nlohmann::json& node, nlohmann::json data);

}  // namespace fkemu
