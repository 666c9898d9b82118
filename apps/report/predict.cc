#include "apps/report/predict.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>

#include "core/runtime/block_on.h"
#include "emulator/aws_latency.h"
#include "emulator/local_service.h"

namespace fkemu {

namespace {

using json = nlohmann::json;

double to_ms(Duration d) { return static_cast<double>(d) / static_cast<double>(kMillisecond); }

// Runs one operation of a session to its end (and everything it set off) and returns its result.
template <class F>
OpResult run_op(Executor& ex, ClientSession& s, F f) {
  return block_on(ex, f(s), "predict.op")
      .value_or(OpResult::failure(Status(Code::SystemError, "the operation did not finish")));
}

Status check(const OpResult& r, const std::string& what) {
  if (r.status.is_ok()) return Status::ok();
  return Status(r.status.code(), what + " failed: " + r.status.message());
}

}  // namespace

double sample_quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

double Prediction::quantile_ms(double q) const { return sample_quantile(samples_ms, q); }

json Prediction::to_json() const {
  json j{{"op", options.op},
         {"size", options.size},
         {"memory_mb", options.memory_mb},
         {"user_store", options.user_store_kv ? "kv" : "object"},
         {"samples", samples_ms.size()},
         {"seed", options.seed},
         {"model", "aws-2024"},
         {"extra_steps", options.extra_steps}};
  if (options.op == "watch") j["watchers"] = options.watchers;
  auto put = [&](const std::string& prefix, const std::vector<double>& v) {
    j[prefix + "p50_ms"] = sample_quantile(v, 0.50);
    j[prefix + "p90_ms"] = sample_quantile(v, 0.90);
    j[prefix + "p95_ms"] = sample_quantile(v, 0.95);
    j[prefix + "p99_ms"] = sample_quantile(v, 0.99);
  };
  put("", samples_ms);
  j["mean_ms"] = samples_ms.empty() ? 0.0
                                    : std::accumulate(samples_ms.begin(), samples_ms.end(), 0.0) /
                                          static_cast<double>(samples_ms.size());
  j["min_ms"] = samples_ms.empty() ? 0.0 : *std::min_element(samples_ms.begin(), samples_ms.end());
  j["max_ms"] = samples_ms.empty() ? 0.0 : *std::max_element(samples_ms.begin(), samples_ms.end());
  if (options.op == "watch") {
    j["rounds"] = last_watcher_ms.size();
    put("last_watcher_", last_watcher_ms);
  }
  return j;
}

Result<Prediction> predict(const PredictOptions& o) {
  if (o.op != "set_data" && o.op != "get_data" && o.op != "watch")
    return Status(Code::BadArguments,
                  "--op must be set_data, get_data or watch, not \"" + o.op + "\"");
  if (o.size > 1024 * 1024)
    return Status(Code::BadArguments, "--size " + std::to_string(o.size) +
                                          " is over ZooKeeper's 1 MiB node data limit");
  if (o.samples == 0 || o.samples > 1'000'000)
    return Status(Code::BadArguments, "--samples must be between 1 and 1000000");
  if (o.op == "watch" && (o.watchers == 0 || o.watchers > 100'000))
    return Status(Code::BadArguments, "--watchers must be between 1 and 100000");

  AwsLatencyOptions lo;
  lo.memory_mb = o.memory_mb;
  lo.user_store_kv = o.user_store_kv;
  lo.extra_steps = o.extra_steps;
  ASSIGN_OR_RETURN(auto model,
                   AwsLatency::make(o.table ? *o.table : CalibrationTable::aws_2024(), lo));

  Executor ex(o.seed);
  ex.set_latency_model(model);
  DeploymentConfig config;
  config.user_store_kv = o.user_store_kv;
  LocalService service(ex, config);
  const std::string data(o.size, 'x');
  const std::string path = "/fkemu-predict";

  ClientSession& writer = service.open_session("writer");
  if (auto s = check(run_op(ex, writer,
                            [](ClientSession& c) -> Task<OpResult> {
                              OpResult r;
                              r.status = co_await c.connect();
                              co_return r;
                            }),
                     "connect");
      !s.is_ok())
    return s;
  if (auto s = check(
          run_op(ex, writer, [&](ClientSession& c) { return c.create(path, data, false, false); }),
          "create");
      !s.is_ok())
    return s;

  Prediction p;
  p.options = o;
  p.samples_ms.reserve(o.samples);
  if (o.op == "set_data" || o.op == "get_data") {
    const bool write = o.op == "set_data";
    for (size_t i = 0; i < o.samples; ++i) {
      const Time t0 = ex.now();
      std::optional<Time> t1;
      auto r = run_op(ex, writer, [&](ClientSession& c) -> Task<OpResult> {
        OpResult res;  // (no co_await in a conditional expression: GCC 12 miscompiles it)
        if (write)
          res = co_await c.set_data(path, data, -1);
        else
          res = co_await c.get_data(path, false);
        t1 = ex.now();
        co_return res;
      });
      if (auto s = check(r, o.op); !s.is_ok()) return s;
      p.samples_ms.push_back(to_ms(*t1 - t0));
    }
    return p;
  }

  // watch
  std::vector<ClientSession*> watchers;
  std::vector<std::optional<Time>> seen(o.watchers);
  Time round_start = 0;
  for (size_t w = 0; w < o.watchers; ++w) {
    ClientSession& s = service.open_session("w" + std::to_string(w));
    s.set_event_listener([&seen, &ex, w](const WatchedEvent&) {
      if (!seen[w]) seen[w] = ex.now();
    });
    watchers.push_back(&s);
    // Connecting is one unconditional put of the session's item: it does not fail here.
    auto connect = [](ClientSession& c) -> Task<void> { (void)co_await c.connect(); };
    ex.spawn("predict.connect", connect(s));
  }
  ex.run();
  while (p.samples_ms.size() < o.samples) {
    std::fill(seen.begin(), seen.end(), std::nullopt);
    size_t registered = 0;
    auto watch = [&](ClientSession& c) -> Task<void> {
      OpResult r = co_await c.get_data(path, true);
      if (r.status.is_ok()) ++registered;
    };
    for (auto* s : watchers) ex.spawn("predict.watch", watch(*s));
    ex.run();
    if (registered != watchers.size())
      return Status(Code::SystemError, "a watch registration failed");
    round_start = ex.now();
    if (auto s =
            check(run_op(ex, writer, [&](ClientSession& c) { return c.set_data(path, data, -1); }),
                  "set_data");
        !s.is_ok())
      return s;
    double slowest = 0;
    for (size_t w = 0; w < seen.size(); ++w) {
      if (!seen[w])
        return Status(Code::SystemError, "watcher " + std::to_string(w) + " got no event");
      const double ms = to_ms(*seen[w] - round_start);
      slowest = std::max(slowest, ms);
      if (p.samples_ms.size() < o.samples) p.samples_ms.push_back(ms);
    }
    p.last_watcher_ms.push_back(slowest);
  }
  return p;
}

}  // namespace fkemu
