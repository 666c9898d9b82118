#include "core/protocol/heartbeat.h"

namespace fkemu {

using json = nlohmann::json;

Task<void> HeartbeatFunction::tick() {
  Executor& ex = d_.ex;
  auto sessions = co_await ex.call("kv.scan", "heartbeat.scan", 0,
                                   [&] { return d_.system.scan(kSessionsTable); });
  for (const auto& entry : sessions) {
    const std::string& name = entry.first;  // (not a structured binding: lambdas capture it)
    const json& item = entry.second;
    if (!item.value("alive", false)) continue;
    const Time last_seen = item.value("last_seen", Time{0});
    const Duration timeout = item.value("timeout_ms", int64_t{0}) * kMillisecond;
    if (ex.now() - last_seen > timeout) {
      json close{{"op", "close"}, {"session", name}, {"req", -1}, {"last_seen", last_seen}};
      const std::string group = d_.config.writer_group_per_session ? name : std::string("writes");
      const std::string dedup = "expire:" + name + ":" + std::to_string(last_seen);
      co_await ex.call("queue.send", "heartbeat.expire", 0, [&] {
        return d_.writer_queue.send(group, dedup, std::move(close), SendMeta{ex.call_began(), 0});
      });
    } else {
      json ping{{"type", "ping"}, {"t", ex.now()}};
      co_await ex.call("channel.send", "heartbeat.ping", 0,
                       [&] { d_.channel.send(name, std::move(ping)); });
    }
  }
}

}  // namespace fkemu
