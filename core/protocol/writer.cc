#include "core/protocol/writer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "core/model/close_order.h"
#include "core/model/path.h"
#include "core/model/stat.h"
#include "core/protocol/mutants.h"
#include "core/protocol/update.h"

namespace fkemu {
namespace {

using ItemKey = std::pair<std::string, std::string>;  // (table, key)

struct Verdict {
  Code error = Code::Ok;
};

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

bool node_exists(const json& item) { return item.value("exists", false); }

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

}  // namespace

Task<void> Writer::handle(ReceivedMessage message) {
  const json& req = message.body;
  const std::string session = req.at("session").get<std::string>();
  const int64_t req_no = req.at("req").get<int64_t>();
  const std::string op = req.at("op").get<std::string>();
  const std::string path = req.value("path", std::string());
  Executor& ex = d_.ex;
  // The size the writer's steps are keyed by in the latency model: the request's node data.
  const size_t data_bytes = req.contains("data") ? req.at("data").get_binary().size() : 0;

  auto answer = [&](json body) -> Task<void> {
    body["type"] = "result";
    body["req"] = req_no;
    co_await ex.call("channel.send", "writer.notify", 0, [&] { d_.channel.send(session, body); });
  };

  // Retries back off exponentially, as the cloud SDKs do: 50 ms, 100 ms, ... at most 1 s.
  Duration next_backoff = d_.config.lock_retry_backoff;
  auto backoff = [&] {
    const Duration d = next_backoff;
    next_backoff = std::min<Duration>(2 * next_backoff, kSecond);
    return d;
  };

  for (;;) {
    // The lock-owner id names the attempt and the instance (its process) that makes it.
    const std::string attempt =
        "a" + std::to_string(d_.next_attempt++) + "@" + std::to_string(ex.current());
    const Time now = ex.local_now();  // the instance's own clock, which may be skewed

    // Which items does the request change? close needs the session's ephemerals first.
    std::set<ItemKey> to_lock;
    std::vector<std::string> ephemerals;
    if (op == "close") {
      auto s = co_await ex.call("kv.get", "writer.read_session", 0,
                                [&] { return d_.system.get(kSessionsTable, session); });
      to_lock.insert({kSessionsTable, session});
      if (s) {
        std::set<std::string> seen;
        for (const auto& p : s->value("ephemerals", json::array())) {
          if (!seen.insert(p.get<std::string>()).second) continue;
          ephemerals.push_back(p.get<std::string>());
          to_lock.insert({kNodesTable, p.get<std::string>()});
          to_lock.insert({kNodesTable, parent_path(p.get<std::string>())});
        }
      }
    } else {
      // A sequential create learns its node's name from the parent, under the parent's lock.
      if (!(op == "create" && req.value("sequential", false))) to_lock.insert({kNodesTable, path});
      if (op != "set_data") to_lock.insert({kNodesTable, parent_path(path)});
    }

    // 1. Lock.
    std::map<ItemKey, json> items;
    bool locked_all = true;
    for (const auto& key : to_lock) {
      KvWrite w;
      w.table = key.first;
      w.key = key.second;
      w.conditions.push_back(FKEMU_MUTANT(d_.config, "timelock.never_expires")
                                 ? Condition::not_exists("lock")
                                 : Condition::absent_or_lt("lock", now - d_.config.lock_lifetime));
      w.updates = {Update::set("lock", now), Update::set("lock_owner", attempt)};
      auto r = co_await ex.call("kv.lock", "writer.lock", data_bytes,
                                [&] { return d_.system.write(w); });
      if (!r.ok) {
        locked_all = false;
        break;
      }
      items[key] = std::move(*r.new_item);
    }
    auto unlock_writes = [&] {
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
    };
    auto unlock = [&]() -> Task<void> {
      for (auto& w : unlock_writes())
        co_await ex.call("kv.unlock", "writer.unlock", 0, [&] { return d_.system.write(w); });
    };
    if (!locked_all) {
      co_await unlock();
      co_await ex.sleep(backoff(), "writer.backoff");
      continue;
    }

    // 2. Was the request decided already (redelivery), and is the session still alive? A
    //    system request (the heartbeat's close of an expired session, req < 0) is answered to
    //    nobody and happens at most once: the session is no longer alive afterwards.
    const bool system_request = req_no < 0;
    auto sess = co_await ex.call("kv.get", "writer.check_session", 0,
                                 [&] { return d_.system.get(kSessionsTable, session); });
    if (sess && !system_request && sess->value("last_req", int64_t{0}) >= req_no) {
      co_await unlock();
      const json last_error = sess->value("last_error", json());
      if (last_error.is_object() && last_error.value("req", int64_t{-1}) == req_no) {
        json again{{"error", last_error.at("error")}};
        co_await answer(std::move(again));
      }
      co_return;
    }
    if (system_request && sess &&
        sess->value("last_seen", Time{0}) != req.value("last_seen", Time{-1})) {
      co_await unlock();  // the session answered again after the heartbeat decided to expire it
      co_return;
    }
    if (!sess || !sess->value("alive", false)) {
      co_await unlock();
      if (system_request) co_return;
      json expired{{"error", "SessionExpired"}};
      co_await answer(std::move(expired));
      co_return;
    }

    // 3. Validate and plan the changes.
    Verdict dec;
    json update{{"session", session},
                {"req", req_no},
                {"op", op},
                {"attempt", attempt},
                {"anchor", {{"table", kNodesTable}, {"key", path}}},
                {"last_seen", req.value("last_seen", json())},
                {"changes", json::array()},
                {"result", json::object()}};
    json& changes = update["changes"];
    const json empty_data = json::binary({});
    if (op == "create") {
      const bool ephemeral = req.value("ephemeral", false);
      const bool sequential = req.value("sequential", false);
      const std::string parent = parent_path(path);
      const json& parent_item = items[{kNodesTable, parent}];
      if (!node_exists(parent_item)) {
        dec.error = Code::NoNode;
      } else {
        std::string actual = path;
        if (sequential) {
          actual += format_suffix(FKEMU_MUTANT(d_.config, "sequential.from_cversion")
                                      ? parent_item.at("stat").value("cversion", 0)
                                      : parent_item.value("creates", 0));
          KvWrite w;
          w.table = kNodesTable;
          w.key = actual;
          w.conditions.push_back(
              FKEMU_MUTANT(d_.config, "timelock.never_expires")
                  ? Condition::not_exists("lock")
                  : Condition::absent_or_lt("lock", now - d_.config.lock_lifetime));
          w.updates = {Update::set("lock", now), Update::set("lock_owner", attempt)};
          auto r = co_await ex.call("kv.lock", "writer.lock", data_bytes,
                                    [&] { return d_.system.write(w); });
          if (!r.ok) {
            co_await unlock();
            co_await ex.sleep(backoff(), "writer.backoff");
            continue;
          }
          items[{kNodesTable, actual}] = std::move(*r.new_item);
          update["anchor"]["key"] = actual;
        }
        const json& node_item = items[{kNodesTable, actual}];
        // The server checks characters only now, after the parent lookup (ZooKeeper 3.8).
        if (!validate_path(actual).is_ok()) {
          dec.error = Code::BadArguments;
        } else if (node_exists(node_item)) {
          dec.error = Code::NodeExists;
        } else if (parent_item.at("stat").at("ephemeralOwner").is_string()) {
          dec.error = Code::NoChildrenForEphemerals;
        } else {
          const json& data = req.at("data");
          json node{{"exists", true},
                    {"stat",
                     fresh_stat(now, ephemeral ? std::optional<std::string>(session) : std::nullopt,
                                data.get_binary().size())},
                    {"children", json::array()},
                    {"creates", 0}};
          changes.push_back(change(actual, "create", std::move(node), &data));
          changes.push_back(
              change(parent, "parent", parent_after(parent_item, base_name(actual), +1)));
          update["result"] = json{{"path", actual}};
        }
      }
    } else if (op == "delete") {
      const json& node_item = items[{kNodesTable, path}];
      const int version = req.value("version", -1);
      if (path == "/" || path == "/zookeeper" || path == "/zookeeper/config" ||
          path == "/zookeeper/quota") {
        dec.error = Code::BadArguments;  // ZooKeeper refuses to delete its own nodes
      } else if (!node_exists(node_item)) {
        dec.error = Code::NoNode;
      } else if (version != -1 && node_item.at("stat").value("version", 0) != version) {
        dec.error = Code::BadVersion;
      } else if (!node_item.value("children", json::array()).empty()) {
        dec.error = Code::NotEmpty;
      } else {
        const std::string parent = parent_path(path);
        changes.push_back(change(path, "delete",
                                 json{{"exists", false},
                                      {"stat", json::object()},
                                      {"children", json::array()},
                                      {"creates", 0}}));
        changes.push_back(change(parent, "parent",
                                 parent_after(items[{kNodesTable, parent}], base_name(path), -1)));
      }
    } else if (op == "set_data") {
      const json& node_item = items[{kNodesTable, path}];
      const int version = req.value("version", -1);
      if (!node_exists(node_item)) {
        dec.error = Code::NoNode;
      } else if (version != -1 && node_item.at("stat").value("version", 0) != version) {
        dec.error = Code::BadVersion;
      } else {
        const json& data = req.at("data");
        json node = node_fields(node_item);
        node["stat"]["version"] = node["stat"].value("version", 0) + 1;
        node["stat"]["mtime"] = ms(now);
        node["stat"]["dataLength"] = static_cast<int>(data.get_binary().size());
        changes.push_back(change(path, "set", std::move(node), &data));
      }
    } else if (op == "close") {
      update["anchor"] = json{{"table", kSessionsTable}, {"key", session}};
      std::map<std::string, json> parents;
      // The session's ephemerals that still exist, in creation order, then in the order
      // ZooKeeper deletes them (the iteration order of its per-session Java HashSet).
      std::vector<std::string> live;
      for (const auto& p : ephemerals) {
        const json& item = items[{kNodesTable, p}];
        if (node_exists(item) && item.at("stat").at("ephemeralOwner") == session) live.push_back(p);
      }
      if (FKEMU_MUTANT(d_.config, "ephemeral.cleanup_skipped")) live.clear();
      for (const auto& p : zookeeper_close_order(live, ephemerals.size())) {
        changes.push_back(change(p, "delete",
                                 json{{"exists", false},
                                      {"stat", json::object()},
                                      {"children", json::array()},
                                      {"creates", 0}}));
        const std::string parent = parent_path(p);
        auto [it, fresh] = parents.try_emplace(parent);
        it->second =
            parent_after(fresh ? items[{kNodesTable, parent}] : json(it->second), base_name(p), -1);
      }
      for (auto& [p, node] : parents) changes.push_back(change(p, "parent", std::move(node)));
      // Locked ephemerals that are no longer ours (deleted, or recreated by another session)
      // still need their lock released by the commit.
      for (const auto& [key, item] : items) {
        if (key.first != kNodesTable) continue;
        bool written = false;
        for (const auto& c : changes) written = written || c.at("path") == key.second;
        if (!written) changes.push_back(change(key.second, "keep", node_fields(item)));
      }
    } else {
      dec.error = Code::BadArguments;
    }

    if (dec.error != Code::Ok) {
      std::vector<KvWrite> ws = unlock_writes();
      KvWrite s;
      s.table = kSessionsTable;
      s.key = session;
      s.conditions.push_back(Condition::lt("last_req", req_no));
      s.updates = {
          Update::set("last_req", req_no),
          Update::set("last_error", json{{"req", req_no}, {"error", code_name(dec.error)}})};
      ws.push_back(std::move(s));
      auto r = co_await ex.call("kv.transact", "writer.commit", 0,
                                [&] { return d_.system.transact(ws); });
      if (!r.ok) {  // lost a lock meanwhile: release what is still ours, decide again
        co_await unlock();
        continue;
      }
      json failure{{"error", code_name(dec.error)}};
      co_await answer(std::move(failure));
      co_return;
    }

    // 4. Push: the queue's sequence number is the zxid.
    update["uid"] = session + ":" + std::to_string(req_no) + ":" + attempt;
    const size_t bytes = data_bytes;  // the changes carry the request's data, nothing more
    auto push = [&] {
      return d_.distributor_queue.send("updates", update["uid"].get<std::string>(), update,
                                       SendMeta{ex.call_began(), bytes});
    };
    auto sent = co_await ex.call("queue.send", "writer.push", bytes, push);
    if (sent.is_ok() && ex.fault("send.retry")) {
      // The SDK retried the send (the first answer was lost): same deduplication id, so the
      // queue returns the original sequence number and enqueues nothing.
      sent = co_await ex.call("queue.send", "writer.push", bytes, push);
    }
    if (!sent.is_ok()) {
      co_await unlock();
      co_await ex.sleep(backoff(), "writer.backoff");
      continue;
    }
    const int64_t zxid = static_cast<int64_t>(sent->sequence.lo);

    // 5. Commit.
    const std::vector<KvWrite> commit = build_commit(update, zxid);
    auto r = co_await ex.call("kv.transact", "writer.commit", bytes,
                              [&] { return d_.system.transact(commit); });
    if (r.ok) co_return;
    // A lock was lost (it expired and another attempt took it) or the session closed: release
    // the locks that are still this attempt's, whatever happens next.
    co_await unlock();
    auto after = co_await ex.call("kv.get", "writer.check_session", 0,
                                  [&] { return d_.system.get(kSessionsTable, session); });
    const bool decided = after && (system_request ? !after->value("alive", true)
                                                  : after->value("last_req", int64_t{0}) >= req_no);
    if (decided) co_return;  // committed on our behalf by the distributor
    // The lock was lost before the commit: the push is stale and the distributor drops it.
  }
}

}  // namespace fkemu
