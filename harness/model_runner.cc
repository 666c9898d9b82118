#include "harness/model_runner.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/model/path.h"
#include "emulator/digest.h"
#include "harness/scenario_runner.h"
#include "harness/zookeeper_model.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

// The model's form of a write step (a multi's operations included).
ModelWrite model_write(const Step& st, bool ttl_nodes) {
  ModelWrite w{st.op, st.session, st.path, st.data, st.ephemeral, st.sequential, st.version};
  w.container = st.container;
  w.recursive = st.recursive;
  w.acl = st.acl;
  w.ttl_ms = st.ttl_ms;
  w.ttl_nodes = ttl_nodes;
  for (const Step& o : st.ops) w.ops.push_back(model_write(o, ttl_nodes));
  return w;
}

bool is_read(const std::string& op) {
  return op == "get_data" || op == "exists" || op == "get_children" || op == "get_acl";
}

}  // namespace

Result<std::vector<json>> run_scenario_on_model(const Scenario& sc) {
  if (sc.mode != ScenarioMode::Sequential)
    return Status(Code::BadArguments, "only sequential scenarios run on the model");
  for (const Step& st : sc.steps)
    if (!st.is_wait && st.op == "expire")
      return Status(Code::BadArguments, "an expire step has no sequential meaning");
  // A TTL node goes once its time has passed (decision 53): the model, which has no time,
  // follows a scenario with TTL nodes only where no time passes (no wait, no latency model),
  // and then none goes.
  const bool time_passes =
      sc.config.latency_model != "zero" ||
      std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step& st) { return st.is_wait; });
  if (creates_ttl_nodes(sc.steps) && time_passes && sc.config.ttl_nodes.value_or(false))
    return Status(Code::BadArguments,
                  "TTL nodes in a scenario where time passes: when the service deletes them "
                  "depends on time, which the model does not follow");
  ZooKeeperModel m;
  std::vector<json> h;
  std::set<std::string> closed;
  std::map<int64_t, std::string> watch_session;      // registration id -> session
  std::map<std::string, std::vector<Identity>> ids;  // session -> its identities (add_auth)
  int64_t zxid = 0;
  int64_t id = 0;
  for (const Step& st : sc.steps) {
    if (st.is_wait) continue;
    ++id;
    json inv{{"kind", "invoke"}, {"id", id}, {"session", st.session}};
    inv.update(invocation_fields(st));
    inv["t"] = 0;
    h.push_back(std::move(inv));
    json ans{{"id", id}, {"session", st.session}};
    auto error = [&](const std::string& e) {
      ans["kind"] = "error";
      ans["error"] = e;
    };
    std::vector<ModelEvent> events;
    // The client's own checks come first (path rules, data size, the root); a multi's, each
    // operation's in turn.
    std::string client_error;
    int client_failed = -1;
    auto client_check = [&](const Step& o) -> std::string {
      const bool writes_data = o.op == "create" || o.op == "set_data";
      if (!validate_client_path(o.path, o.op == "create" && o.sequential).is_ok() ||
          (o.op == "delete" && o.path == "/"))
        return "BadArguments";
      if (writes_data && o.data.size() > 1024 * 1024) return "MarshallingError";
      return {};
    };
    if (st.op == "multi") {
      if (st.ops.size() > ClientSession::kMaxMultiOps) client_error = "MarshallingError";
      for (size_t i = 0; i < st.ops.size() && client_error.empty(); ++i)
        if (std::string e = client_check(st.ops[i]); !e.empty()) {
          client_error = e;
          client_failed = static_cast<int>(i);
        }
    } else if (st.op != "close" && st.op != "add_auth" && !is_read(st.op)) {
      client_error = client_check(st);
    }
    if (!client_error.empty()) {
      error(client_error);
      if (client_failed >= 0) ans["failed_op"] = client_failed;
    } else if (closed.count(st.session)) {
      if (st.op == "close") {
        ans["kind"] = "ok";
      } else if (is_read(st.op) && !validate_client_path(st.path).is_ok()) {
        error("BadArguments");  // a read's path (a write's was checked above)
      } else {
        error("SessionExpired");
      }
    } else if (st.op == "close") {
      const ModelWriteResult r = m.close_session(st.session, ++zxid);
      closed.insert(st.session);
      events = r.events;
      ans["kind"] = "ok";
      ans["zxid"] = zxid;
    } else if (st.op == "add_auth") {
      std::vector<Identity>& mine = ids[st.session];
      const Identity added = digest_identity(st.auth);
      if (std::find(mine.begin(), mine.end(), added) == mine.end()) mine.push_back(added);
      m.set_identities(st.session, mine, mine);
      ans["kind"] = "ok";
    } else if (st.op == "multi" && st.ops.empty()) {
      ans["kind"] = "ok";  // nothing to apply: no zxid
    } else if (st.op == "create" || st.op == "set_data" || st.op == "delete" || st.op == "multi" ||
               st.op == "add_watch" || st.op == "set_acl") {
      ModelWrite w = model_write(st, sc.config.ttl_nodes.value_or(false));
      w.auth = ids[st.session];
      int failed = -1;
      if (std::string e = m.check(w, nullptr, &failed); !e.empty()) {
        error(e);
        if (failed >= 0) ans["failed_op"] = failed;
      } else {
        const ModelWriteResult r = m.apply(w, ++zxid);
        events = r.events;
        ans["kind"] = "ok";
        if (st.op == "create") ans["path"] = r.path;
        if (r.stat) ans["stat"] = stat_to_json(*r.stat);
        if (!r.results.empty()) {
          json rs = json::array();
          for (const ModelOpResult& o : r.results) {
            json one{{"op", o.op}};
            if (o.op == "create") one["path"] = o.path;
            if (o.stat) one["stat"] = stat_to_json(*o.stat);
            rs.push_back(std::move(one));
          }
          ans["results"] = std::move(rs);
        }
        ans["zxid"] = zxid;
      }
    } else {
      const std::vector<Identity>& as = ids[st.session];
      const ModelReadResult r = st.op == "get_data"  ? m.get_data(st.path, as)
                                : st.op == "exists"  ? m.exists(st.path)
                                : st.op == "get_acl" ? m.get_acl(st.path, as)
                                                     : m.get_children(st.path, as);
      if (!r.ok()) {
        error(r.error);
      } else {
        ans["kind"] = "ok";
        ans["stat"] = r.stat ? stat_to_json(*r.stat) : json(nullptr);
        if (st.op == "get_data") put_data_field(r.data, "data", "data_b64", ans);
        if (st.op == "get_children") ans["children"] = r.children;
        if (st.op == "get_acl") ans["acl"] = acl_json(r.acl);
        const bool registers = st.op == "exists" || r.stat.has_value();
        if (st.watch && registers) {
          const int64_t w = m.add_watch(
              st.session, st.path, st.op == "get_children" ? WatchKind::Child : WatchKind::Data);
          watch_session[w] = st.session;
        }
      }
    }
    // Containers the step left empty, after they had children, are deleted at once, each by
    // an update of the service's own (decision 48): a "service" line at the end of the step,
    // the events after the step's.
    std::vector<std::pair<int64_t, std::string>> cleaned;
    const size_t step_events = events.size();
    std::vector<int64_t> event_zxids(events.size(), zxid);
    for (std::vector<std::string> empty = m.empty_containers(); !empty.empty();
         empty = m.empty_containers())
      for (const std::string& path : empty) {
        const ModelWriteResult r = m.apply(make_write("delete", "", path), ++zxid);
        cleaned.emplace_back(zxid, path);
        for (const ModelEvent& e : r.events) {
          events.push_back(e);
          event_zxids.push_back(zxid);
        }
      }
    auto event_line = [&](size_t k) {
      const ModelEvent& e = events[k];
      return json{{"kind", "watch"}, {"session", e.session},   {"event", e.event},
                  {"path", e.path},  {"zxid", event_zxids[k]}, {"t", 0}};
    };
    for (size_t k = 0; k < step_events; ++k)
      if (events[k].session == st.session) h.push_back(event_line(k));
    ans["t"] = 0;
    h.push_back(std::move(ans));
    for (size_t k = step_events; k < events.size(); ++k)
      if (events[k].session == st.session) h.push_back(event_line(k));
    for (const std::string& s : sc.sessions)
      if (s != st.session)
        for (size_t k = 0; k < events.size(); ++k)
          if (events[k].session == s) h.push_back(event_line(k));
    for (const auto& [z, path] : cleaned)
      h.push_back(
          json{{"kind", "service"}, {"op", "delete"}, {"path", path}, {"zxid", z}, {"t", 0}});
  }
  return h;
}

}  // namespace fkemu
