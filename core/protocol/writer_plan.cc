#include "core/protocol/writer_plan.h"

#include <algorithm>
#include <cstdio>

#include "core/model/close_order.h"
#include "core/model/path.h"
#include "core/model/stat.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

int64_t ms(Time t) { return t / kMillisecond; }

std::string format_suffix(int64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(n));
  return buf;
}

json fresh_stat(Time now, const std::optional<std::string>& owner, size_t len) {
  Stat s;
  s.ctime = s.mtime = ms(now);
  s.ephemeral_owner = owner;
  s.data_length = static_cast<int32_t>(len);
  return stat_to_json(s);
}

bool node_exists(const json& item) { return item.is_object() && item.value("exists", false); }

void remove_child(json& node, const std::string& name) {
  json& ch = node["children"];
  for (auto it = ch.begin(); it != ch.end(); ++it)
    if (*it == name) {
      ch.erase(it);
      break;
    }
}

void insert_child(json& node, const std::string& name) {
  json& ch = node["children"];
  if (!ch.is_array()) ch = json::array();
  auto it = std::lower_bound(ch.begin(), ch.end(), json(name), [](const json& a, const json& b) {
    return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  });
  ch.insert(it, name);
}

// The system record without lock and pending bookkeeping: what a commit writes.
json node_fields(const json& item) {
  json n = json::object();
  n["exists"] = item.value("exists", false);
  n["stat"] = item.value("stat", json::object());
  n["children"] = item.value("children", json::array());
  n["creates"] = item.value("creates", 0);
  return n;
}

json change(const std::string& path, const char* kind, json node, const json* data = nullptr) {
  json c{{"path", path}, {"kind", kind}, {"node", std::move(node)}};
  if (data) c["data"] = *data;
  return c;
}

// The parent's record after one child was created (delta +1) or deleted (-1).
json parent_after(const json& parent_item, const std::string& child, int delta) {
  json p = node_fields(parent_item);
  json& st = p["stat"];
  st["cversion"] = st.value("cversion", 0) + 1;
  if (delta > 0) {
    insert_child(p, child);
    p["creates"] = p.value("creates", 0) + 1;
  } else {
    remove_child(p, child);
  }
  st["numChildren"] = static_cast<int>(p["children"].size());
  return p;
}

const json& item_at(const LockedItems& items, const std::string& table, const std::string& key) {
  static const json kAbsent;
  auto it = items.find({table, key});
  return it == items.end() ? kAbsent : it->second;
}

const json& node_at(const LockedItems& items, const std::string& path) {
  return item_at(items, kNodesTable, path);
}

json deleted_node() {
  return json{
      {"exists", false}, {"stat", json::object()}, {"children", json::array()}, {"creates", 0}};
}

bool is_zookeeper_own_node(const std::string& path) {
  return path == "/" || path == "/zookeeper" || path == "/zookeeper/config" ||
         path == "/zookeeper/quota";
}

void plan_create(const WriteRequest& r, const std::string& actual, const LockedItems& items,
                 Time now, WritePlan& plan) {
  const std::string parent = parent_path(r.path);
  const json& parent_item = node_at(items, parent);
  if (!node_exists(parent_item)) {
    plan.error = Code::NoNode;
    return;
  }
  plan.anchor.second = actual;
  const json& node_item = node_at(items, actual);
  // The server checks characters only now, after the parent lookup (ZooKeeper 3.8).
  if (!validate_path(actual).is_ok()) {
    plan.error = Code::BadArguments;
  } else if (node_exists(node_item)) {
    plan.error = Code::NodeExists;
  } else if (parent_item.at("stat").at("ephemeralOwner").is_string()) {
    plan.error = Code::NoChildrenForEphemerals;
  } else {
    const json& data = *r.data;
    json node{
        {"exists", true},
        {"stat", fresh_stat(now, r.ephemeral ? std::optional<std::string>(r.session) : std::nullopt,
                            data.get_binary().size())},
        {"children", json::array()},
        {"creates", 0}};
    plan.changes.push_back(change(actual, "create", std::move(node), &data));
    plan.changes.push_back(
        change(parent, "parent", parent_after(parent_item, base_name(actual), +1)));
    plan.result = json{{"path", actual}};
  }
}

void plan_delete(const WriteRequest& r, const LockedItems& items, WritePlan& plan) {
  const json& node_item = node_at(items, r.path);
  if (is_zookeeper_own_node(r.path)) {
    plan.error = Code::BadArguments;  // ZooKeeper refuses to delete its own nodes
  } else if (!node_exists(node_item)) {
    plan.error = Code::NoNode;
  } else if (r.version != -1 && node_item.at("stat").value("version", 0) != r.version) {
    plan.error = Code::BadVersion;
  } else if (!node_item.value("children", json::array()).empty()) {
    plan.error = Code::NotEmpty;
  } else {
    const std::string parent = parent_path(r.path);
    plan.changes.push_back(change(r.path, "delete", deleted_node()));
    plan.changes.push_back(
        change(parent, "parent", parent_after(node_at(items, parent), base_name(r.path), -1)));
  }
}

void plan_set_data(const WriteRequest& r, const LockedItems& items, Time now, WritePlan& plan) {
  const json& node_item = node_at(items, r.path);
  if (!node_exists(node_item)) {
    plan.error = Code::NoNode;
  } else if (r.version != -1 && node_item.at("stat").value("version", 0) != r.version) {
    plan.error = Code::BadVersion;
  } else {
    const json& data = *r.data;
    json node = node_fields(node_item);
    node["stat"]["version"] = node["stat"].value("version", 0) + 1;
    node["stat"]["mtime"] = ms(now);
    node["stat"]["dataLength"] = static_cast<int>(data.get_binary().size());
    plan.changes.push_back(change(r.path, "set", std::move(node), &data));
  }
}

void plan_close(const WriteRequest& r, const LockedItems& items,
                const std::vector<std::string>& ephemerals,
                [[maybe_unused]] const DeploymentConfig& config, WritePlan& plan) {
  plan.anchor = {kSessionsTable, r.session};
  std::map<std::string, json> parents;
  // The session's ephemerals that still exist, in creation order, then in the order
  // ZooKeeper deletes them (the iteration order of its per-session Java HashSet).
  std::vector<std::string> live;
  for (const auto& p : ephemerals) {
    const json& item = node_at(items, p);
    if (node_exists(item) && item.at("stat").at("ephemeralOwner") == r.session) live.push_back(p);
  }
  if (FKEMU_MUTANT(config, "ephemeral.cleanup_skipped")) live.clear();
  for (const auto& p : zookeeper_close_order(live, ephemerals.size())) {
    plan.changes.push_back(change(p, "delete", deleted_node()));
    const std::string parent = parent_path(p);
    auto [it, fresh] = parents.try_emplace(parent);
    it->second = parent_after(fresh ? node_at(items, parent) : json(it->second), base_name(p), -1);
  }
  for (auto& [p, node] : parents) plan.changes.push_back(change(p, "parent", std::move(node)));
  // Locked ephemerals that are no longer ours (deleted, or recreated by another session)
  // still need their lock released by the commit.
  for (const auto& [key, item] : items) {
    if (key.first != kNodesTable) continue;
    bool written = false;
    for (const auto& c : plan.changes) written = written || c.at("path") == key.second;
    if (!written) plan.changes.push_back(change(key.second, "keep", node_fields(item)));
  }
}

}  // namespace

WriteRequest WriteRequest::from_message(const json& body) {
  WriteRequest r;
  r.session = body.at("session").get<std::string>();
  r.req_no = body.at("req").get<int64_t>();
  r.op = body.at("op").get<std::string>();
  r.path = body.value("path", std::string());
  r.ephemeral = body.value("ephemeral", false);
  r.sequential = body.value("sequential", false);
  r.version = body.value("version", -1);
  // A create or set_data without data is malformed: at() throws, as reading it always did.
  if (r.op == "create" || r.op == "set_data" || body.contains("data")) r.data = &body.at("data");
  r.last_seen = body.value("last_seen", json());
  return r;
}

size_t WriteRequest::data_bytes() const { return data ? data->get_binary().size() : 0; }

std::vector<std::string> session_ephemerals(const std::optional<json>& session_item) {
  std::vector<std::string> out;
  if (!session_item) return out;
  std::set<std::string> seen;
  for (const auto& p : session_item->value("ephemerals", json::array()))
    if (seen.insert(p.get<std::string>()).second) out.push_back(p.get<std::string>());
  return out;
}

std::set<ItemKey> items_to_lock(const WriteRequest& r, const std::vector<std::string>& ephemerals) {
  std::set<ItemKey> keys;
  if (r.op == "close") {
    keys.insert({kSessionsTable, r.session});
    for (const auto& p : ephemerals) {
      keys.insert({kNodesTable, p});
      keys.insert({kNodesTable, parent_path(p)});
    }
    return keys;
  }
  if (!(r.op == "create" && r.sequential)) keys.insert({kNodesTable, r.path});
  if (r.op != "set_data") keys.insert({kNodesTable, parent_path(r.path)});
  return keys;
}

std::optional<std::string> sequential_name(const WriteRequest& r, const json& parent_item,
                                           [[maybe_unused]] const DeploymentConfig& config) {
  if (!node_exists(parent_item)) return std::nullopt;
  return r.path + format_suffix(FKEMU_MUTANT(config, "sequential.from_cversion")
                                    ? parent_item.at("stat").value("cversion", 0)
                                    : parent_item.value("creates", 0));
}

KvWrite lock_write(const ItemKey& key, Time now, const std::string& attempt,
                   const DeploymentConfig& config) {
  KvWrite w;
  w.table = key.first;
  w.key = key.second;
  w.conditions.push_back(FKEMU_MUTANT(config, "timelock.never_expires")
                             ? Condition::not_exists("lock")
                             : Condition::absent_or_lt("lock", now - config.lock_lifetime));
  w.updates = {Update::set("lock", now), Update::set("lock_owner", attempt)};
  return w;
}

std::vector<KvWrite> unlock_writes(const LockedItems& items, const std::string& attempt) {
  std::vector<KvWrite> ws;
  for (const auto& [key, item] : items) {
    KvWrite w;
    w.table = key.first;
    w.key = key.second;
    w.conditions.push_back(Condition::eq("lock_owner", attempt));
    w.updates = {Update::remove("lock"), Update::remove("lock_owner")};
    ws.push_back(std::move(w));
  }
  return ws;
}

WritePlan plan_write(const WriteRequest& r, const std::string& node_path, const LockedItems& items,
                     const std::vector<std::string>& ephemerals, Time now,
                     const DeploymentConfig& config) {
  WritePlan plan;
  plan.anchor = {kNodesTable, r.path};
  if (r.op == "create") {
    plan_create(r, node_path, items, now, plan);
  } else if (r.op == "delete") {
    plan_delete(r, items, plan);
  } else if (r.op == "set_data") {
    plan_set_data(r, items, now, plan);
  } else if (r.op == "close") {
    plan_close(r, items, ephemerals, config, plan);
  } else {
    plan.error = Code::BadArguments;
  }
  return plan;
}

std::vector<KvWrite> failure_writes(const WriteRequest& r, Code error, const LockedItems& items,
                                    const std::string& attempt) {
  std::vector<KvWrite> ws = unlock_writes(items, attempt);
  KvWrite s;
  s.table = kSessionsTable;
  s.key = r.session;
  s.conditions.push_back(Condition::lt("last_req", r.req_no));
  s.updates = {Update::set("last_req", r.req_no),
               Update::set("last_error", json{{"req", r.req_no}, {"error", code_name(error)}})};
  ws.push_back(std::move(s));
  return ws;
}

}  // namespace fkemu
