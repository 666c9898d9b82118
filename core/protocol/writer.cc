#include "core/protocol/writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/model/path.h"
#include "core/protocol/update.h"
#include "core/protocol/writer_plan.h"

namespace fkemu {

Task<void> Writer::handle(ReceivedMessage message) {
  const WriteRequest r = WriteRequest::from_message(*message.body);
  Executor& ex = d_.ex;
  const DeploymentConfig& config = d_.config;
  const size_t data_bytes = r.data_bytes();

  auto answer = [&](Code error, int failed_op) -> Task<void> {
    WriteAnswer refusal;
    refusal.req = r.req_no;
    refusal.error = error;
    refusal.failed_op = failed_op;
    const ClientMessage refused = std::move(refusal);
    co_await ex.call("channel.send", "writer.notify", 0,
                     [&] { d_.channel.send(r.session, refused); });
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
    const LockOwner attempt{d_.next_attempt++, static_cast<uint64_t>(ex.current())};
    const Time now = ex.local_now();  // the instance's own clock, which may be skewed

    // 1. Lock the items the request changes (a close: the session's ephemerals, read first).
    std::vector<std::string> ephemerals;
    if (r.kind() == WriteOp::Close) {
      auto s = co_await ex.call("kv.get", "writer.read_session", 0,
                                [&] { return d_.system.get(kSessionsTable, r.session); });
      std::optional<SessionRecord> record;
      if (s) record = SessionRecord::from_item(*s);
      ephemerals = session_ephemerals(record);
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
    const bool system_request = r.system();
    // A request of the service's own that concerns no session (a container's cleanup) skips
    // the session's checks, and a refusal only releases the locks: nobody waits for it.
    const bool sessionless = r.session.empty();
    std::optional<Item> sess_item;
    if (!sessionless)
      sess_item = co_await ex.call("kv.get", "writer.check_session", 0,
                                   [&] { return d_.system.get(kSessionsTable, r.session); });
    std::optional<SessionRecord> sess;
    if (sess_item) sess = SessionRecord::from_item(*sess_item);
    if (sess && !system_request && sess->last_req >= r.req_no) {
      co_await unlock();
      if (sess->last_error && sess->last_error->req == r.req_no)
        co_await answer(sess->last_error->error, sess->last_error->failed_op);
      co_return;
    }
    const auto* close = std::get_if<CloseRequest>(&r.op);
    const Time asked_last_seen =
        close && close->expired_last_seen ? *close->expired_last_seen : Time{-1};
    if (system_request && sess && sess->last_seen != asked_last_seen) {
      co_await unlock();  // the session answered again after the heartbeat decided to expire it
      co_return;
    }
    if (!sessionless && (!sess || !sess->alive)) {
      co_await unlock();
      if (system_request) co_return;
      co_await answer(Code::SessionExpired, -1);
      co_return;
    }

    // 3. Decide. A sequential create locks its node once the parent has named it.
    std::string node_path = r.path();
    if (r.sequential_create()) {
      const auto name = sequential_name(
          r, NodeRecord::from_item(items[{kNodesTable, parent_path(r.path())}]), config);
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
    // A multi's sequential creates are named as its operations leave the parents' counters.
    bool named_all = true;
    for (const std::string& name : sequential_names(r, items, now, config)) {
      if (items.count({kNodesTable, name})) continue;
      named_all = co_await lock({kNodesTable, name});
      if (!named_all) break;
    }
    if (!named_all) {
      co_await unlock();
      co_await ex.sleep(backoff(), "writer.backoff");
      continue;
    }
    WritePlan plan = plan_write(r, node_path, items, ephemerals, now, config);
    if (plan.error != Code::Ok && sessionless) {
      co_await unlock();
      co_return;
    }
    if (plan.error != Code::Ok) {
      const std::vector<KvWrite> ws = failure_writes(r, plan, items, attempt);
      auto decided = co_await ex.call("kv.transact", "writer.commit", 0,
                                      [&] { return d_.system.transact(ws); });
      if (!decided.ok()) {  // lost a lock meanwhile: release what is still ours, decide again
        co_await unlock();
        continue;
      }
      co_await answer(plan.error, plan.failed_op);
      co_return;
    }

    // 4. Push: the queue's sequence number is the zxid.
    UpdateMessage update;
    update.uid = r.session + ":" + std::to_string(r.req_no) + ":" + attempt.to_string();
    update.session = r.session;
    update.req = r.req_no;
    update.op = r.kind();
    update.attempt = attempt;
    update.anchor = plan.anchor;
    update.expired_last_seen = close ? close->expired_last_seen : std::nullopt;
    update.changes = std::move(plan.changes);
    update.created_path = std::move(plan.created_path);
    update.results = std::move(plan.results);
    if (const auto* w = std::get_if<AddWatchRequest>(&r.op)) update.watch = *w;
    const size_t bytes = data_bytes;  // the changes carry the request's data, nothing more
    auto push = [&] {
      return d_.distributor_queue.send("updates", update.uid, update.to_message(),
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
    std::optional<SessionRecord> now_sess;
    if (after) now_sess = SessionRecord::from_item(*after);
    // (a lock stub is not taken for a decided close: the next attempt finds out)
    const bool decided = now_sess && (system_request ? !(now_sess->alive || now_sess->lock_stub)
                                                     : now_sess->last_req >= r.req_no);
    if (decided) co_return;  // committed on our behalf by the distributor
    // The lock was lost before the commit: the push is stale and the distributor drops it.
  }
}

}  // namespace fkemu
