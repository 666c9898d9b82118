#include "harness/scenario_runner.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/json/json_text.h"
#include "emulator/aws_latency.h"
#include "emulator/local_service.h"

namespace fkemu {
namespace {

using json = nlohmann::json;

DeploymentConfig config_for(const Scenario& sc, const RunOptions& opt) {
  DeploymentConfig c = deployment_config(sc.config);
  c.mutant = opt.mutant;
  return c;
}

class Runner {
 public:
  Runner(const Scenario& sc, const RunOptions& opt)
      : sc_(sc), ex_(opt.seed, make_scheduler(opt.scheduler)), service_(ex_, config_for(sc, opt)) {
    ex_.trace().keep_decisions(opt.keep_decisions);
    if (!make_scheduler(opt.scheduler)) ex_.set_scheduler(std::make_unique<RandomScheduler>());
    if (opt.latency) {
      ex_.set_latency_model(opt.latency);
    } else if (sc.config.latency_model != "zero") {
      AwsLatencyOptions lo;
      lo.memory_mb = sc.config.function_memory_mb;
      lo.user_store_kv = sc.config.user_store == "kv";
      auto m = make_latency_model(sc.config.latency_model, lo);
      if (!m.is_ok()) throw std::runtime_error(m.status().message());
      ex_.set_latency_model(*m);
    }
    service_.deployment().on_service_update = [this](int64_t zxid, const UpdateMessage& u) {
      on_service_update(zxid, u);
    };
    if (opt.setup) opt.setup(ex_, service_);
    finish_ = opt.finish;
    settle_limit_ = opt.settle_limit;
    max_decisions_ = opt.max_decisions;
  }

  RunOutcome run() {
    for (const auto& name : sc_.sessions) {
      ClientSession& s = service_.open_session(name);
      s.set_event_listener([this, name](const WatchedEvent& e) { on_event(name, e); });
      ex_.spawn("connect:" + name, connect(s));
    }
    drain();
    if (sc_.mode == ScenarioMode::Sequential) {
      for (const Step& st : sc_.steps) {
        if (st.is_wait) {
          wait(st.wait_ms);
          flush_events();
          continue;
        }
        acting_ = st.session;
        answered_ = false;
        ex_.spawn("step:" + std::to_string(st.index), run_step(st));
        drain();
        flush_events();
      }
    } else {
      size_t begin = 0;
      while (begin <= sc_.steps.size()) {
        size_t end = begin;
        while (end < sc_.steps.size() && !sc_.steps[end].is_wait) ++end;
        for (const auto& name : sc_.sessions) {
          std::vector<const Step*> mine;
          for (size_t i = begin; i < end; ++i)
            if (sc_.steps[i].session == name) mine.push_back(&sc_.steps[i]);
          if (!mine.empty()) ex_.spawn("session:" + name, run_steps(std::move(mine)));
        }
        drain();
        if (end < sc_.steps.size()) wait(sc_.steps[end].wait_ms);
        begin = end + 1;
      }
    }

    RunOutcome out;
    out.history = std::move(history_);
    out.expectation_failures = std::move(failures_);
    for (const Step& st : sc_.steps)
      if (!st.is_wait && !completed_.count(st.index))
        out.problems.push_back("step " + std::to_string(st.index) + " (" + st.session + " " +
                               st.op + " " + st.path + ") was never answered");
    if (stuck_)
      out.problems.push_back(
          "the run did not settle: still busy " + std::to_string(settle_limit_ / kSecond) +
          " s of virtual time after its last step, or after " + std::to_string(max_decisions_) +
          " decisions (a request never answered, or a livelock)");
    for (auto& p : quiescence_problems(service_)) out.problems.push_back(std::move(p));
    for (const auto& name : sc_.sessions)
      if (ClientSession* s = service_.session(name))
        for (Time t : s->stopped_answering()) out.silent_stops.push_back(SilentStop{name, t});
    if (finish_) finish_(ex_, service_);
    out.trace_hash = ex_.trace().hash();
    out.decisions = ex_.trace().size();
    out.end_time_us = ex_.now();
    return out;
  }

 private:
  // Connecting is one unconditional put of the session's item: it does not fail in a run.
  Task<void> connect(ClientSession& s) { (void)co_await s.connect(); }

  // Sequential mode records a step's lines in the canonical order of docs/scenarios.md: the
  // acting session's events before its answer, the answer, then the rest session by session.
  void on_event(const std::string& session, const WatchedEvent& e) {
    json line{{"kind", "watch"}, {"session", session}, {"event", event_name(e.event)},
              {"path", e.path},  {"zxid", e.zxid},     {"t", ex_.now()}};
    if (sc_.mode == ScenarioMode::Concurrent || (session == acting_ && !answered_)) {
      history_.push_back(std::move(line));
    } else {
      buffered_[session].push_back(std::move(line));
    }
  }

  // An update of the service's own (a container's or a TTL node's cleanup) is recorded as a
  // "service" line
  // (docs/scenarios.md): no client observes it, but the checker needs its zxid. Once per zxid
  // (a redelivery reports it again). Sequential mode puts it at the end of its step.
  void on_service_update(int64_t zxid, const UpdateMessage& u) {
    if (!service_zxids_.insert(zxid).second) return;
    for (const Change& ch : u.changes) {
      if (ch.kind != ChangeKind::Delete) continue;
      json line{{"kind", "service"},
                {"op", "delete"},
                {"path", ch.path},
                {"zxid", zxid},
                {"t", ex_.now()}};
      if (sc_.mode == ScenarioMode::Concurrent) {
        history_.push_back(std::move(line));
      } else {
        service_lines_.push_back(std::move(line));
      }
    }
  }

  void flush_events() {
    if (!acting_.empty()) {
      for (auto& l : buffered_[acting_]) history_.push_back(std::move(l));
      buffered_.erase(acting_);
    }
    for (const auto& name : sc_.sessions) {
      for (auto& l : buffered_[name]) history_.push_back(std::move(l));
    }
    for (auto& l : service_lines_) history_.push_back(std::move(l));
    service_lines_.clear();
    buffered_.clear();
    acting_.clear();
  }

  // Runs until quiet; a run that does not settle is stopped (a livelock or a lock that never
  // expires) and reported.
  void drain(Duration extra = 0) {
    if (stuck_) return;
    const uint64_t left =
        max_decisions_ > ex_.trace().size() ? max_decisions_ - ex_.trace().size() : 0;
    if (!ex_.run_bounded(ex_.now() + extra + settle_limit_, left)) stuck_ = true;
    if (!ex_.idle()) stuck_ = true;  // still busy at the horizon
  }

  Task<void> sleeper(Duration d) { co_await ex_.sleep_keep_alive(d, "wait"); }

  void wait(int64_t ms) {
    ex_.spawn("wait", sleeper(ms * kMillisecond));
    drain(ms * kMillisecond);
  }

  Task<void> run_steps(std::vector<const Step*> steps) {
    for (const Step* st : steps) co_await run_step(*st);
  }

  Task<void> run_step(const Step& st) {
    ClientSession& s = *service_.session(st.session);
    const int64_t id = next_id_++;
    json inv{{"kind", "invoke"}, {"id", id}, {"session", st.session}};
    inv.update(invocation_fields(st));
    inv["t"] = ex_.now();
    history_.push_back(inv);

    const OpResult r = co_await perform_step(s, st);
    json ans{{"id", id}, {"session", st.session}};
    ans.update(answer_fields(r));
    ans["t"] = ex_.now();
    history_.push_back(ans);
    if (st.session == acting_) answered_ = true;
    completed_.insert(st.index);
    check_expect(st, r, ans);
  }

  void check_expect(const Step& st, const OpResult& r, const json& ans) {
    if (st.expect.is_null()) return;
    const std::string what = "step " + std::to_string(st.index) + " (" + st.session + " " + st.op +
                             (st.path.empty() ? "" : " " + st.path) + ")";
    const std::string got = r.status.is_ok() ? "ok" : std::string(code_name(r.status.code()));
    auto fail = [&](const std::string& m) { failures_.push_back(what + ": " + m); };
    const json& e = st.expect;
    if (e.contains("ok") && e["ok"].get<bool>() != r.status.is_ok())
      fail(std::string("expected ") + (e["ok"].get<bool>() ? "ok" : "an error") + ", got " + got);
    if (e.contains("error") && e["error"] != got)
      fail("expected error " + e["error"].get<std::string>() + ", got " + got);
    for (const char* k : {"data", "data_b64", "path"}) {
      if (!e.contains(k)) continue;
      if (!ans.contains(k) || ans[k] != e[k])
        fail(std::string("expected ") + k + " " + e[k].dump() + ", got " +
             (ans.contains(k) ? ans[k].dump() : got));
    }
    if (e.contains("children") && (!ans.contains("children") || ans["children"] != e["children"]))
      fail("expected children " + e["children"].dump() + ", got " +
           (ans.contains("children") ? ans["children"].dump() : got));
    if (e.contains("stat")) {
      if (e["stat"].is_null() != (!ans.contains("stat") || ans["stat"].is_null())) {
        fail("expected stat " + e["stat"].dump() + ", got " +
             (ans.contains("stat") ? ans["stat"].dump() : got));
      } else if (e["stat"].is_object()) {
        for (const auto& [k, v] : e["stat"].items())
          if (!ans["stat"].contains(k) || ans["stat"][k] != v)
            fail("expected stat." + k + " " + v.dump() + ", got " +
                 (ans["stat"].contains(k) ? ans["stat"][k].dump() : "nothing"));
      }
    }
  }

  const Scenario& sc_;
  std::function<void(Executor&, LocalService&)> finish_;
  Duration settle_limit_ = 0;
  uint64_t max_decisions_ = 0;
  bool stuck_ = false;
  Executor ex_;
  LocalService service_;
  std::vector<json> history_;
  std::vector<std::string> failures_;
  std::set<size_t> completed_;
  std::string acting_;
  bool answered_ = false;
  std::map<std::string, std::vector<json>> buffered_;
  std::vector<json> service_lines_;
  std::set<int64_t> service_zxids_;
  int64_t next_id_ = 1;
};

}  // namespace

RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options) {
  Runner r(scenario, options);
  return r.run();
}

std::string history_to_jsonl(const std::vector<nlohmann::json>& history) {
  std::string out;
  for (const auto& e : history) {
    out += json_text(e);
    out += '\n';
  }
  return out;
}

}  // namespace fkemu
