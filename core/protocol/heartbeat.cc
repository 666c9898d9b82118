#include "core/protocol/heartbeat.h"

#include <utility>
#include <vector>

namespace fkemu {

using json = nlohmann::json;

Task<void> HeartbeatFunction::tick() {
  Executor& ex = d_.ex;
  auto sessions = co_await ex.call("kv.scan", "heartbeat.scan", 0,
                                   [&] { return d_.system.scan(kSessionsTable); });
  // Sessions that have not answered for longer than their timeout, with the last_seen read.
  std::vector<std::pair<std::string, Time>> overdue;
  for (const auto& entry : sessions) {
    const std::string& name = entry.first;  // (not a structured binding: lambdas capture it)
    const json& item = entry.second;
    const Time last_seen = item.value("last_seen", Time{0});
    const Duration timeout = item.value("timeout_ms", int64_t{0}) * kMillisecond;
    if (!item.value("alive", false)) {
      // A closed session's item (or a stub a late redelivery's lock left) is deleted once its
      // close is done with: not locked, nothing pending (the distributor has the close), and
      // long after its last sign of life (the close came at most a timeout and two periods
      // after it). Late requests of the session then answer SessionExpired, as the item would
      // have made them; so a long-running deployment keeps the live sessions and the recently
      // closed ones, not every session it ever had.
      const json& pending = item.contains("pending") ? item["pending"] : json();
      if (ex.now() - last_seen > 2 * (timeout + 2 * d_.config.heartbeat_period) &&
          !item.contains("lock_owner") && (pending.is_null() || pending.empty())) {
        KvWrite forget;
        forget.table = kSessionsTable;
        forget.key = name;
        forget.kind = KvWrite::Kind::Delete;
        forget.conditions = {Condition::ne("alive", true), Condition::not_exists("lock_owner"),
                             pending.is_null() ? Condition::not_exists("pending")
                                               : Condition::eq("pending", pending)};
        // ConditionFailed: the session came back into use (a late request locked it); it is
        // looked at again next round.
        (void)co_await ex.call("kv.write", "heartbeat.forget", 0,
                               [&] { return d_.system.write(forget); });
      }
      continue;
    }
    if (ex.now() - last_seen > timeout) overdue.emplace_back(name, last_seen);
    json ping{{"type", "ping"}, {"t", ex.now()}};
    co_await ex.call("channel.send", "heartbeat.ping", 0,
                     [&] { d_.channel.send(name, std::move(ping)); });
  }
  if (overdue.empty()) co_return;
  // A session is expired only for a ping it did not answer: one overdue because pings were
  // not sent (an instance died before it got to it) answers this one and lives on.
  co_await ex.sleep(d_.config.heartbeat_period / 2, "heartbeat.confirm");
  for (const auto& [name_read, last_seen] : overdue) {
    const std::string name = name_read;  // (lambdas capture it)
    auto item = co_await ex.call("kv.get", "heartbeat.confirm", 0,
                                 [&] { return d_.system.get(kSessionsTable, name); });
    if (!item || !item->value("alive", false) || item->value("last_seen", Time{0}) != last_seen)
      continue;
    json close{{"op", "close"}, {"session", name}, {"req", -1}, {"last_seen", last_seen}};
    const std::string group = d_.config.writer_group_per_session ? name : std::string("writes");
    const std::string dedup = "expire:" + name + ":" + std::to_string(last_seen);
    // The group and the deduplication id are never empty: the queue does not refuse the send.
    (void)co_await ex.call("queue.send", "heartbeat.expire", 0, [&] {
      return d_.writer_queue.send(group, dedup, std::move(close), SendMeta{ex.call_began(), 0});
    });
  }
}

}  // namespace fkemu
