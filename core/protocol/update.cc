#include "core/protocol/update.h"

#include "core/protocol/deployment.h"

namespace fkemu {

using json = nlohmann::json;

json materialize(const json& change, int64_t zxid) {
  json node = change.at("node");
  const std::string& kind = change.at("kind").get_ref<const std::string&>();
  json& stat = node["stat"];
  if (kind == "create") {
    stat["czxid"] = zxid;
    stat["mzxid"] = zxid;
    stat["pzxid"] = zxid;
  } else if (kind == "set") {
    stat["mzxid"] = zxid;
  } else if (kind == "parent") {
    stat["pzxid"] = zxid;
  }
  return node;
}

std::vector<KvWrite> build_commit(const json& update, int64_t zxid) {
  const std::string& attempt = update.at("attempt").get_ref<const std::string&>();
  const std::string& uid = update.at("uid").get_ref<const std::string&>();
  const std::string& session = update.at("session").get_ref<const std::string&>();
  const json& anchor = update.at("anchor");
  const bool anchor_is_session = anchor.at("table") == kSessionsTable;
  const std::string& op = update.at("op").get_ref<const std::string&>();

  std::vector<KvWrite> writes;
  for (const json& ch : update.at("changes")) {
    KvWrite w;
    w.table = kNodesTable;
    w.key = ch.at("path").get<std::string>();
    w.conditions.push_back(Condition::eq("lock_owner", attempt));
    const json node = materialize(ch, zxid);
    for (const auto& [k, v] : node.items()) w.updates.push_back(Update::set(k, v));
    w.updates.push_back(Update::remove("lock"));
    w.updates.push_back(Update::remove("lock_owner"));
    if (!anchor_is_session && anchor.at("key") == w.key)
      w.updates.push_back(Update::append("pending", json::array({uid})));
    writes.push_back(std::move(w));
  }

  KvWrite s;
  s.table = kSessionsTable;
  s.key = session;
  // An expired or closed session commits nothing more; a client request is decided once.
  s.conditions.push_back(Condition::eq("alive", true));
  if (update.at("req").get<int64_t>() < 0) {
    // An expiry: only if the session has not answered since the heartbeat decided it.
    s.conditions.push_back(Condition::eq("last_seen", update.at("last_seen")));
  } else {
    s.conditions.push_back(Condition::lt("last_req", update.at("req")));
    s.updates.push_back(Update::set("last_req", update.at("req")));
  }
  if (op == "create" &&
      update.at("changes").at(0).at("node").at("stat").at("ephemeralOwner").is_string())
    s.updates.push_back(
        Update::append("ephemerals", json::array({update.at("result").at("path")})));
  if (op == "close") s.updates.push_back(Update::set("alive", false));
  if (anchor_is_session) {
    s.conditions.push_back(Condition::eq("lock_owner", attempt));
    s.updates.push_back(Update::remove("lock"));
    s.updates.push_back(Update::remove("lock_owner"));
    s.updates.push_back(Update::append("pending", json::array({uid})));
  }
  writes.push_back(std::move(s));
  return writes;
}

bool list_contains(const json& item, const char* attr, const std::string& value) {
  auto it = item.find(attr);
  if (it == item.end() || !it->is_array()) return false;
  for (const auto& v : *it)
    if (v.is_string() && v.get_ref<const std::string&>() == value) return true;
  return false;
}

json user_record(const json& node, json data) {
  return json{{"data", std::move(data)},
              {"stat", node.at("stat")},
              {"children", node.value("children", json::array())}};
}

}  // namespace fkemu
