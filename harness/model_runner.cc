#include "harness/model_runner.h"

#include <map>
#include <set>

#include "core/model/path.h"
#include "harness/scenario_runner.h"
#include "harness/zookeeper_model.h"

namespace fkemu {

using json = nlohmann::json;

Result<std::vector<json>> run_scenario_on_model(const Scenario& sc) {
  if (sc.mode != ScenarioMode::Sequential)
    return Status(Code::BadArguments, "only sequential scenarios run on the model");
  for (const Step& st : sc.steps)
    if (!st.is_wait && st.op == "expire")
      return Status(Code::BadArguments, "an expire step has no sequential meaning");
  ZooKeeperModel m;
  std::vector<json> h;
  std::set<std::string> closed;
  std::map<int64_t, std::string> watch_session;  // registration id -> session
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
    if (closed.count(st.session)) {
      // The client's own checks come first (path rules, data size, the root), then the
      // closed session.
      const bool writes_data = st.op == "create" || st.op == "set_data";
      if (st.op == "close") {
        ans["kind"] = "ok";
      } else if (!validate_client_path(st.path, st.op == "create" && st.sequential).is_ok() ||
                 (st.op == "delete" && st.path == "/")) {
        error("BadArguments");
      } else if (writes_data && st.data.size() > 1024 * 1024) {
        error("MarshallingError");
      } else {
        error("SessionExpired");
      }
    } else if (st.op == "close") {
      const ModelWriteResult r = m.close_session(st.session, ++zxid);
      closed.insert(st.session);
      events = r.events;
      ans["kind"] = "ok";
      ans["zxid"] = zxid;
    } else if (st.op == "create" || st.op == "set_data" || st.op == "delete") {
      // The client checks the path, then the data's size (then the server decides).
      if ((st.op == "create" || st.op == "set_data") && st.data.size() > 1024 * 1024 &&
          validate_client_path(st.path, st.op == "create" && st.sequential).is_ok()) {
        error("MarshallingError");
      } else {
        ModelWrite w{st.op, st.session, st.path, st.data, st.ephemeral, st.sequential, st.version};
        if (std::string e = m.check(w); !e.empty()) {
          error(e);
        } else {
          const ModelWriteResult r = m.apply(w, ++zxid);
          events = r.events;
          ans["kind"] = "ok";
          if (st.op == "create") ans["path"] = r.path;
          if (r.stat) ans["stat"] = stat_to_json(*r.stat);
          ans["zxid"] = zxid;
        }
      }
    } else {
      const ModelReadResult r = st.op == "get_data" ? m.get_data(st.path)
                                : st.op == "exists" ? m.exists(st.path)
                                                    : m.get_children(st.path);
      if (!r.ok()) {
        error(r.error);
      } else {
        ans["kind"] = "ok";
        ans["stat"] = r.stat ? stat_to_json(*r.stat) : json(nullptr);
        if (st.op == "get_data") put_data_field(r.data, "data", "data_b64", ans);
        if (st.op == "get_children") ans["children"] = r.children;
        const bool registers = st.op == "exists" || r.stat.has_value();
        if (st.watch && registers) {
          const int64_t w = m.add_watch(
              st.session, st.path, st.op == "get_children" ? WatchKind::Child : WatchKind::Data);
          watch_session[w] = st.session;
        }
      }
    }
    auto event_line = [&](const ModelEvent& e) {
      return json{{"kind", "watch"}, {"session", e.session}, {"event", e.event},
                  {"path", e.path},  {"zxid", zxid},         {"t", 0}};
    };
    for (const ModelEvent& e : events)
      if (e.session == st.session) h.push_back(event_line(e));
    ans["t"] = 0;
    h.push_back(std::move(ans));
    for (const std::string& s : sc.sessions)
      if (s != st.session)
        for (const ModelEvent& e : events)
          if (e.session == s) h.push_back(event_line(e));
  }
  return h;
}

}  // namespace fkemu
