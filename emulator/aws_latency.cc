#include "emulator/aws_latency.h"

#include <algorithm>

namespace fkemu {

namespace {

// Steps whose component depends on the user store (object store or key-value store).
constexpr std::string_view kClientRead = "client.read";
constexpr std::string_view kClientReadAgain = "client.read_again";

std::vector<AwsLatency::Price> make_prices() {
  constexpr int kCall = -1;
  std::vector<AwsLatency::Price> p = {
      // Triggers (function runtime): measured from the start of the send.
      {"writer.trigger", "queue.sqs_fifo_trigger", kCall,
       "SQS FIFO send to function start, by message size"},
      {"distributor.trigger", "queue.sqs_fifo_trigger", kCall,
       "SQS FIFO send to function start, by message size"},
      {"watch.trigger", "function.direct_invoke", 64,
       "the distributor invokes the watch function directly"},
      {"queue.trigger", "queue.sqs_fifo_trigger", kCall, "an SQS FIFO trigger"},
      {"esm.poll", "", kCall, "Lambda's own poller: inside the trigger's measurement"},
      {"esm.delete", "", kCall, "Lambda deletes the batch after the function returns"},
      // Client.
      {"client.send", "client.send", kCall, "measured: the client's send into the writer queue"},
      {kClientRead, "client.get_data", kCall, "measured: the client's whole get_data"},
      {kClientReadAgain, "user.s3_read", kCall,
       "the second read of a watch registration: the storage call alone"},
      {"client.register_watch", "dynamodb.write", 64, "one DynamoDB write (transaction)"},
      {"client.connect", "dynamodb.write", 64, "the session item"},
      {"client.reconnect", "dynamodb.write", 64, "the session item"},
      {"client.pong", "dynamodb.write", 64, "the session item's last-seen time"},
      // Writer.
      {"writer.lock", "writer.lock", kCall, "measured"},
      {"writer.push", "writer.push", kCall, "measured"},
      {"writer.commit", "writer.commit", kCall, "measured"},
      {"writer.check_session", "", kCall,
       "a condition on the session item in the lock's transaction: inside writer.lock"},
      {"writer.read_session", "dynamodb.read", 64, "close only: the session's ephemerals"},
      {"writer.unlock", "dynamodb.timelock_release", 64, "failure paths only"},
      {"writer.notify", "distributor.notify", kCall, "an error answer on the client's channel"},
      // Distributor.
      {"distributor.read_progress", "", kCall,
       "read with the update's node in one batch: inside distributor.exec_read"},
      {"distributor.exec_read", "distributor.exec_read", kCall, "measured"},
      {"distributor.watch_query", "distributor.watch_query", kCall, "measured"},
      {"distributor.watch_query_more", "", kCall,
       "the reference queries a node's watches in one call: inside the query"},
      {"distributor.second_look", "distributor.watch_query", kCall,
       "fkemu only: the second look for late registrations, one more query", true},
      {"distributor.epoch_add", "dynamodb.atomic_list_increase", 1,
       "fkemu only: the epoch in the system store (the reference keeps it in memory)", true},
      {"distributor.epoch_scan", "dynamodb.read", 64,
       "fkemu only: the epoch in the system store (the reference keeps it in memory)", true},
      {"distributor.exec_update_read", "", kCall,
       "the reference's exec_update is a read-modify-write of the S3 record: inside it"},
      {"distributor.exec_update", "distributor.exec_update", kCall, "measured"},
      {"distributor.watch_dispatch", "network.rtt", kCall,
       "the asynchronous invocation request of the watch function"},
      {"distributor.exec_pop_updates", "distributor.exec_pop_updates", kCall, "measured"},
      {"distributor.notify", "distributor.notify", kCall, "measured: the client notification"},
      {"distributor.commit_on_behalf", "writer.commit", kCall, "the writer's commit, by another"},
      {"distributor.record_progress", "dynamodb.write", 64, "a dropped update's progress"},
      {"distributor.epoch_read", "dynamodb.read", 64, "fkemu only: the epoch entry, again", true},
      {"distributor.close_read_session", "dynamodb.read", 64, "close only"},
      {"distributor.add_watch", "dynamodb.write", 64,
       "add_watch only: the persistent registration, one transaction"},
      {"client.auth_horizon", "dynamodb.read", 64,
       "an addauth: the distributor's progress, which orders it among the updates' events"},
      {"distributor.clean_container", "client.send", 4,
       "an SQS send of a container's delete request (decision 48), as the heartbeat's close"},
      // Watch function and registrations.
      {"watch.notify", "distributor.notify", kCall, "one client notification per session"},
      {"watch.epoch_remove", "dynamodb.write", 64, "after every notification is out"},
      {"registrations.read", "dynamodb.read", 64, "a node's watch registrations"},
      {"registrations.write", "dynamodb.write", 64, "a node's watch registrations"},
      // Heartbeat.
      {"heartbeat.scan", "dynamodb.read", 1024, "the sessions table"},
      {"heartbeat.expire", "client.send", 4, "an SQS send of the close request"},
      {"heartbeat.confirm", "dynamodb.read", 64, "an overdue session's item, read again"},
      {"heartbeat.forget", "dynamodb.write", 64, "a closed session's item, deleted"},
      {"ttl.scan", "dynamodb.read", 1024, "the TTL nodes' list (decision 53), as heartbeat.scan"},
      {"ttl.read_node", "dynamodb.read", 64, "a TTL node's item"},
      {"ttl.forget", "dynamodb.write", 64, "the list's entry of a TTL node gone"},
      {"ttl.expire", "client.send", 4, "an SQS send of an expired TTL node's delete request"},
      {"client.check_session", "dynamodb.read", 64,
       "a read of a session that went quiet meanwhile: still alive?"},
      {"heartbeat.ping", "distributor.notify", kCall, "a ping on the client's channel"},
  };
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return p;
}

const AwsLatency::Price* find_price(std::string_view step) {
  const auto& p = AwsLatency::prices();
  auto it =
      std::lower_bound(p.begin(), p.end(), step,
                       [](const AwsLatency::Price& a, std::string_view s) { return a.step < s; });
  return it != p.end() && it->step == step ? &*it : nullptr;
}

// The component a step uses under the options (reads depend on the user store).
std::string_view component_of(const AwsLatency::Price& price, const AwsLatencyOptions& o) {
  if (price.extra && !o.extra_steps) return "";
  if (o.user_store_kv && price.step == kClientRead) return "client.get_data_kv";
  if (o.user_store_kv && price.step == kClientReadAgain) return "dynamodb.read";
  return price.component;
}

}  // namespace

const std::vector<AwsLatency::Price>& AwsLatency::prices() {
  static const std::vector<Price> p = make_prices();
  return p;
}

Result<std::shared_ptr<AwsLatency>> AwsLatency::make(const CalibrationTable& table,
                                                     AwsLatencyOptions options) {
  std::string missing;
  bool memory_measured = false;
  for (const auto& price : prices()) {
    const std::string_view c = component_of(price, options);
    if (c.empty()) continue;
    if (!table.has(c)) {
      if (missing.find(std::string(c)) == std::string::npos)
        missing += (missing.empty() ? "" : ", ") + std::string(c);
      continue;
    }
    for (const auto& e : table.entries(c))
      memory_measured = memory_measured || e.memory == options.memory_mb;
  }
  if (!missing.empty())
    return Status(Code::BadArguments, "the calibration table has no measurements of " + missing +
                                          " (the aws-2024 model needs them)");
  if (!memory_measured) {
    std::set<int> measured;
    for (const auto& c : table.components())
      for (const auto& e : table.entries(c))
        if (e.memory != 0) measured.insert(e.memory);
    std::string list;
    for (int m : measured) list += (list.empty() ? "" : ", ") + std::to_string(m);
    return Status(Code::BadArguments, "function memory " + std::to_string(options.memory_mb) +
                                          " MB was not measured (measured: " + list + " MB)");
  }
  return std::shared_ptr<AwsLatency>(new AwsLatency(table, options));
}

Duration AwsLatency::delay(std::string_view step, size_t bytes, Rng& rng) {
  const Price* price = find_price(step);
  if (!price) {
    if (unknown_.find(step) == unknown_.end()) unknown_.emplace(step);
    return 0;
  }
  const std::string_view component = component_of(*price, options_);
  if (component.empty()) return 0;
  const size_t size = price->bytes < 0 ? bytes : static_cast<size_t>(price->bytes);
  return table_.sample(component, size, options_.memory_mb, rng);
}

Result<std::shared_ptr<LatencyModel>> make_latency_model(std::string_view name,
                                                         AwsLatencyOptions options,
                                                         const CalibrationTable* table) {
  if (name == "zero") return std::shared_ptr<LatencyModel>(std::make_shared<ZeroLatency>());
  if (name == "aws-2024") {
    ASSIGN_OR_RETURN(auto model,
                     AwsLatency::make(table ? *table : CalibrationTable::aws_2024(), options));
    return std::shared_ptr<LatencyModel>(std::move(model));
  }
  return Status(Code::BadArguments,
                "unknown latency model \"" + std::string(name) + "\" (known: zero, aws-2024)");
}

}  // namespace fkemu
