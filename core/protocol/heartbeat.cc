#include "core/protocol/heartbeat.h"

#include <utility>
#include <vector>

#include "core/protocol/records.h"

namespace fkemu {

Task<void> HeartbeatFunction::tick() {
  Executor& ex = d_.ex;
  auto sessions = co_await ex.call("kv.scan", "heartbeat.scan", 0,
                                   [&] { return d_.system.scan(kSessionsTable); });
  // Sessions that have not answered for longer than their timeout, with the last_seen read.
  std::vector<std::pair<std::string, Time>> overdue;
  for (const auto& entry : sessions) {
    const std::string& name = entry.first;  // (not a structured binding: lambdas capture it)
    const SessionRecord item = SessionRecord::from_item(entry.second);
    const Time last_seen = item.last_seen;
    const Duration timeout = item.timeout_ms * kMillisecond;
    if (!item.alive) {
      // A closed session's item (or a stub a late redelivery's lock left) is deleted once its
      // close is done with: not locked, nothing pending (the distributor has the close), and
      // long after its last sign of life (the close came at most a timeout and two periods
      // after it). Late requests of the session then answer SessionExpired, as the item would
      // have made them; so a long-running deployment keeps the live sessions and the recently
      // closed ones, not every session it ever had.
      if (ex.now() - last_seen > 2 * (timeout + 2 * d_.config.heartbeat_period) &&
          !item.book.lock_owner && item.book.pending.empty()) {
        KvWrite forget;
        forget.table = kSessionsTable;
        forget.key = name;
        forget.kind = KvWrite::Kind::Delete;
        // Nothing was pending when it was read: the list is still absent or empty.
        const bool listed = entry.second.contains(attr::kPending);
        forget.conditions = {Condition::ne(attr::kAlive, true),
                             Condition::not_exists(attr::kLockOwner),
                             listed ? Condition::eq(attr::kPending, Value(ValueList{}))
                                    : Condition::not_exists(attr::kPending)};
        // ConditionFailed: the session came back into use (a late request locked it); it is
        // looked at again next round.
        (void)co_await ex.call("kv.write", "heartbeat.forget", 0,
                               [&] { return d_.system.write(forget); });
      }
      continue;
    }
    if (ex.now() - last_seen > timeout) overdue.emplace_back(name, last_seen);
    const ClientMessage ping = Ping{ex.now()};
    co_await ex.call("channel.send", "heartbeat.ping", 0, [&] { d_.channel.send(name, ping); });
  }
  if (overdue.empty()) co_return;
  // A session is expired only for a ping it did not answer: one overdue because pings were
  // not sent (an instance died before it got to it) answers this one and lives on.
  co_await ex.sleep(d_.config.heartbeat_period / 2, "heartbeat.confirm");
  for (const auto& [name_read, last_seen] : overdue) {
    const std::string name = name_read;  // (lambdas capture it)
    auto item = co_await ex.call("kv.get", "heartbeat.confirm", 0,
                                 [&] { return d_.system.get(kSessionsTable, name); });
    if (!item) continue;
    const SessionRecord now_item = SessionRecord::from_item(*item);
    if (!now_item.alive || now_item.last_seen != last_seen) continue;
    WriteRequest close;  // (member by member: GCC 12 and braced aggregates in coroutines)
    close.session = name;
    close.req_no = -1;
    close.op = CloseRequest{last_seen};
    const std::string group = d_.config.writer_group_per_session ? name : std::string("writes");
    const std::string dedup = "expire:" + name + ":" + std::to_string(last_seen);
    // The group and the deduplication id are never empty: the queue does not refuse the send.
    (void)co_await ex.call("queue.send", "heartbeat.expire", 0, [&] {
      return d_.writer_queue.send(group, dedup, close.to_message(), SendMeta{ex.call_began(), 0});
    });
  }
}

}  // namespace fkemu
