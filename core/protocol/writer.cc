#include "core/protocol/writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/model/path.h"
#include "core/protocol/update.h"
#include "core/protocol/writer_plan.h"

namespace fkemu {

using json = nlohmann::json;

Task<void> Writer::handle(ReceivedMessage message) {
  const WriteRequest r = WriteRequest::from_message(*message.body);
  Executor& ex = d_.ex;
  const DeploymentConfig& config = d_.config;
  const size_t data_bytes = r.data_bytes();

  auto answer = [&](json body) -> Task<void> {
    body["type"] = "result";
    body["req"] = r.req_no;
    co_await ex.call("channel.send", "writer.notify", 0, [&] { d_.channel.send(r.session, body); });
  };

  // Retries back off exponentially, as the cloud SDKs do: 50 ms, 100 ms, ... at most 1 s.
  Duration next_backoff = config.lock_retry_backoff;
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

    // 1. Lock the items the request changes (a close: the session's ephemerals, read first).
    std::vector<std::string> ephemerals;
    if (r.op == "close") {
      auto s = co_await ex.call("kv.get", "writer.read_session", 0,
                                [&] { return d_.system.get(kSessionsTable, r.session); });
      ephemerals = session_ephemerals(s);
    }
    LockedItems items;
    auto lock = [&](ItemKey key) -> Task<bool> {
      const KvWrite w = lock_write(key, now, attempt, config);
      auto locked = co_await ex.call("kv.lock", "writer.lock", data_bytes,
                                     [&] { return d_.system.write(w); });
      if (!locked.ok()) co_return false;
      items[key] = std::move(*locked.new_item);
      co_return true;
    };
    auto unlock = [&]() -> Task<void> {
      for (auto& w : unlock_writes(items, attempt))
        (void)co_await ex.call("kv.unlock", "writer.unlock", 0,
                               [&] { return d_.system.write(w); });  // a lost lock is not ours
    };
    bool locked_all = true;
    for (const auto& key : items_to_lock(r, ephemerals)) {
      locked_all = co_await lock(key);
      if (!locked_all) break;
    }
    if (!locked_all) {
      co_await unlock();
      co_await ex.sleep(backoff(), "writer.backoff");
      continue;
    }

    // 2. Was the request decided already (redelivery), and is the session still alive? A
    //    system request (the heartbeat's close of an expired session, req < 0) is answered to
    //    nobody and happens at most once: the session is no longer alive afterwards.
    const bool system_request = r.req_no < 0;
    auto sess = co_await ex.call("kv.get", "writer.check_session", 0,
                                 [&] { return d_.system.get(kSessionsTable, r.session); });
    if (sess && !system_request && sess->value("last_req", int64_t{0}) >= r.req_no) {
      co_await unlock();
      const json last_error = sess->value("last_error", json());
      if (last_error.is_object() && last_error.value("req", int64_t{-1}) == r.req_no) {
        json again{{"error", last_error.at("error")}};
        co_await answer(std::move(again));
      }
      co_return;
    }
    const Time asked_last_seen = r.last_seen.is_null() ? Time{-1} : r.last_seen.get<Time>();
    if (system_request && sess && sess->value("last_seen", Time{0}) != asked_last_seen) {
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

    // 3. Decide. A sequential create locks its node once the parent has named it.
    std::string node_path = r.path;
    if (r.op == "create" && r.sequential) {
      const auto name = sequential_name(r, items[{kNodesTable, parent_path(r.path)}], config);
      if (name) {
        node_path = *name;
        // (named first: GCC 12 loses a co_await's value inside a condition)
        const bool locked = co_await lock({kNodesTable, node_path});
        if (!locked) {
          co_await unlock();
          co_await ex.sleep(backoff(), "writer.backoff");
          continue;
        }
      }
    }
    WritePlan plan = plan_write(r, node_path, items, ephemerals, now, config);
    if (plan.error != Code::Ok) {
      const std::vector<KvWrite> ws = failure_writes(r, plan.error, items, attempt);
      auto decided = co_await ex.call("kv.transact", "writer.commit", 0,
                                      [&] { return d_.system.transact(ws); });
      if (!decided.ok()) {  // lost a lock meanwhile: release what is still ours, decide again
        co_await unlock();
        continue;
      }
      json failure{{"error", code_name(plan.error)}};
      co_await answer(std::move(failure));
      co_return;
    }

    // 4. Push: the queue's sequence number is the zxid.
    json update{{"session", r.session},
                {"req", r.req_no},
                {"op", r.op},
                {"attempt", attempt},
                {"anchor", {{"table", plan.anchor.first}, {"key", plan.anchor.second}}},
                {"last_seen", r.last_seen},
                {"changes", std::move(plan.changes)},
                {"result", std::move(plan.result)}};
    update["uid"] = r.session + ":" + std::to_string(r.req_no) + ":" + attempt;
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
    auto committed = co_await ex.call("kv.transact", "writer.commit", bytes,
                                      [&] { return d_.system.transact(commit); });
    if (committed.ok()) co_return;
    // A lock was lost (it expired and another attempt took it) or the session closed: release
    // the locks that are still this attempt's, whatever happens next.
    co_await unlock();
    auto after = co_await ex.call("kv.get", "writer.check_session", 0,
                                  [&] { return d_.system.get(kSessionsTable, r.session); });
    const bool decided =
        after && (system_request ? !after->value("alive", true)
                                 : after->value("last_req", int64_t{0}) >= r.req_no);
    if (decided) co_return;  // committed on our behalf by the distributor
    // The lock was lost before the commit: the push is stale and the distributor drops it.
  }
}

}  // namespace fkemu
