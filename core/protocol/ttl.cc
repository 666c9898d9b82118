#include "core/protocol/ttl.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/protocol/mutants.h"
#include "core/protocol/records.h"

namespace fkemu {

Task<void> TtlFunction::sweep() {
  Executor& ex = d_.ex;
  auto listed =
      co_await ex.call("kv.scan", "ttl.scan", 0, [&] { return d_.system.scan(kTtlTable); });
  // At most ZooKeeper's znode.container.maxPerMinute (10,000) deletes a minute, so that a mass
  // expiry does not flood the writer: the rest wait for the next periods.
  const int64_t per_sweep =
      std::max<int64_t>(1, kTtlDeletesPerMinute * d_.config.heartbeat_period / (60 * kSecond));
  int64_t sent = 0;
  for (const auto& entry : listed) {
    if (sent >= per_sweep) break;
    const std::string path = entry.first;  // (not a structured binding: lambdas capture it)
    const int64_t listed_czxid = entry.second.number_or(attr::kZxid, 0);
    auto item = co_await ex.call("kv.get", "ttl.read_node", 0,
                                 [&] { return d_.system.get(kNodesTable, path); });
    NodeState node;
    if (item) node = NodeRecord::from_item(*item).node;
    if (!node.exists || node.stat.ttl_ms <= 0 || node.stat.czxid != listed_czxid) {
      // The node it listed is gone. The entry goes unless a TTL node of the same path listed
      // itself meanwhile (its commit set a newer czxid: the condition fails).
      KvWrite forget;
      forget.table = kTtlTable;
      forget.key = path;
      forget.kind = KvWrite::Kind::Delete;
      forget.conditions = {Condition::eq(attr::kZxid, listed_czxid)};
      (void)co_await ex.call("kv.write", "ttl.forget", 0, [&] { return d_.system.write(forget); });
      continue;
    }
    if (!node.children.empty()) continue;
    const int64_t since =
        FKEMU_MUTANT(d_.config, "ttl.from_creation") ? node.stat.ctime : node.stat.mtime;
    if (ex.local_now() / kMillisecond - since <= node.stat.ttl_ms) continue;
    WriteRequest cleanup;  // (member by member: GCC 12 and braced aggregates in coroutines)
    cleanup.req_no = -1;
    DeleteRequest del;
    del.path = path;
    del.only_expired_ttl = DeleteRequest::Expired{node.stat.czxid, node.stat.mzxid};
    cleanup.op = del;
    const std::string dedup = "ttl:" + path + ":" + std::to_string(node.stat.czxid) + ":" +
                              std::to_string(node.stat.mzxid) + ":" +
                              std::to_string(node.stat.pzxid);
    // The group and the deduplication id are never empty: the queue does not refuse the send.
    (void)co_await ex.call("queue.send", "ttl.expire", 0, [&] {
      return d_.writer_queue.send(d_.config.writer_group_per_session ? "ttl" : "writes", dedup,
                                  cleanup.to_message(), SendMeta{ex.call_began(), 0});
    });
    ++sent;
  }
}

}  // namespace fkemu
