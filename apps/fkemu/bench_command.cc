#include "apps/fkemu/bench_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "apps/fkemu/command_util.h"
#include "apps/report/speed.h"
#include "apps/report/svg_plot.h"
#include "emulator/calibration_table.h"
#include "harness/explorer.h"
#include "harness/workload_generator.h"

#ifdef FKEMU_HAVE_ZOOKEEPER
#include "harness/zookeeper_server.h"
#endif

namespace fkemu::cli {

namespace {

// The table --calibration names (null: the embedded one); false, with the message printed,
// when it cannot be loaded.
bool load_table(const std::string& path, std::shared_ptr<const CalibrationTable>& out) {
  auto t = load_calibration(path);
  if (!t.is_ok()) {
    std::fprintf(stderr, "fkemu bench: --calibration: %s\n", t.status().message().c_str());
    return false;
  }
  out = std::move(*t);
  return true;
}

}  // namespace

Result<std::shared_ptr<const CalibrationTable>> load_calibration(const std::string& path) {
  if (path.empty()) return std::shared_ptr<const CalibrationTable>();
  ASSIGN_OR_RETURN(CalibrationTable table, CalibrationTable::load(path));
  return std::make_shared<const CalibrationTable>(std::move(table));
}

int bench_predict(const PredictArgs& a) {
  std::shared_ptr<const CalibrationTable> table;
  if (!load_table(a.calibration, table)) return kExitUsage;
  if (a.user_store != "object" && a.user_store != "kv") {
    std::fprintf(stderr, "fkemu bench predict: --user-store must be object or kv, not \"%s\"\n",
                 a.user_store.c_str());
    return kExitUsage;
  }
  PredictOptions o = a.options;
  o.user_store_kv = a.user_store == "kv";
  o.table = table.get();
  auto p = predict(o);
  if (!p.is_ok()) {
    std::fprintf(stderr, "fkemu bench predict: %s\n", p.status().message().c_str());
    return kExitUsage;
  }
  const nlohmann::json j = p->to_json();
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("%s, %zu B, %d MB%s: %zu samples (aws-2024 model, seed %llu)\n", o.op.c_str(), o.size,
              o.memory_mb,
              o.op == "watch" ? (", " + std::to_string(o.watchers) + " watchers").c_str() : "",
              p->samples_ms.size(), static_cast<unsigned long long>(o.seed));
  std::printf(
      "  p50 %.1f ms  p90 %.1f ms  p95 %.1f ms  p99 %.1f ms  (mean %.1f, min %.1f, max %.1f)\n",
      j["p50_ms"].get<double>(), j["p90_ms"].get<double>(), j["p95_ms"].get<double>(),
      j["p99_ms"].get<double>(), j["mean_ms"].get<double>(), j["min_ms"].get<double>(),
      j["max_ms"].get<double>());
  if (o.op == "watch")
    std::printf("  slowest watcher per round: p50 %.1f ms  p95 %.1f ms  p99 %.1f ms\n",
                j["last_watcher_p50_ms"].get<double>(), j["last_watcher_p95_ms"].get<double>(),
                j["last_watcher_p99_ms"].get<double>());
  return kExitOk;
}

namespace {

using json = nlohmann::json;

std::string human_bytes(size_t b) {
  if (b >= 1000 && b % 1000 == 0) return std::to_string(b / 1000) + " kB";
  if (b >= 1024 && b % 1024 == 0) return std::to_string(b / 1024) + " KiB";
  return std::to_string(b) + " B";
}

// The points of an empirical CDF, at most ~200 of them.
std::vector<std::pair<double, double>> cdf_points(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<double, double>> pts;
  const size_t step = std::max<size_t>(1, v.size() / 200);
  for (size_t i = 0; i < v.size(); i += step)
    pts.emplace_back(v[i], static_cast<double>(i + 1) / static_cast<double>(v.size()));
  if (!v.empty()) pts.emplace_back(v.back(), 1.0);
  return pts;
}

// The explorer's rate on one core: schedules per second with every fault site on (BUGGIFY),
// each schedule judged (quiescence and the G1-G10 checker), over scenarios generated from a
// fixed seed, so that every machine measures the same workload.
struct ExplorerRate {
  uint64_t schedules = 0;
  double seconds = 0;
  size_t scenarios = 0;
  size_t findings = 0;  // the correct protocol must give none
  double per_second() const { return seconds > 0 ? static_cast<double>(schedules) / seconds : 0; }
};

ExplorerRate measure_explorer(double seconds) {
  const std::vector<Scenario> scenarios = generate_scenarios(1, 50);
  ExploreConfig cfg;
  cfg.faults = true;
  ExplorerRate r;
  r.scenarios = scenarios.size();
  const auto start = std::chrono::steady_clock::now();
  do {
    const Scenario& sc = scenarios[r.schedules % scenarios.size()];
    r.findings += run_schedule(sc, cfg, schedule_seed(1, r.schedules)).findings.size();
    ++r.schedules;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (r.seconds < seconds);
  return r;
}

// The machine a report comes from: the CPU model and the number of hardware threads.
json machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, cpu = "unknown";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  return json{{"cpu", cpu}, {"threads", std::thread::hardware_concurrency()}};
}

json quantiles_json(const Prediction& p) {
  json j = p.to_json();
  j.erase("model");
  return j;
}

}  // namespace

int bench_report(const ReportArgs& a) {
  std::shared_ptr<const CalibrationTable> table;
  if (!load_table(a.calibration, table)) return kExitUsage;
  const CalibrationTable& t = table ? *table : CalibrationTable::aws_2024();
  json report{{"machine", machine()}, {"calibration", t.study()}};
  std::vector<PlotChart> charts;

  std::printf("fkemu bench%s on %s (%u threads)\n\n", a.quick ? " --quick" : "",
              report["machine"]["cpu"].get<std::string>().c_str(),
              report["machine"]["threads"].get<unsigned>());
  // ---- 1. the emulator's own speed ------------------------------------------------------
  if (a.speed) {
    const double secs = a.quick ? std::min(a.seconds, 0.3) : a.seconds;
    json speed;
    std::printf("Emulator speed (one core, zero latency model, %.1f s per figure)\n", secs);
    std::printf("  %-34s %12s\n", "operation", "ops/s");
    json zk = nullptr;
#ifdef FKEMU_HAVE_ZOOKEEPER
    std::unique_ptr<zkref::ZooKeeperServer> server;
    if (a.zookeeper) {
      auto started = zkref::ZooKeeperServer::start();
      if (started.is_ok()) {
        server = std::move(started).value();
      } else {
        std::printf("  (no ZooKeeper baseline: %s)\n", started.status().message().c_str());
      }
    }
#endif
    const std::vector<size_t> sizes = {4, 1024, 65536};
    for (const char* op : {"set_data", "get_data"}) {
      for (size_t size : sizes) {
        const bool write = std::string(op) == "set_data";
        const RateResult r =
            write ? measure_pipeline_set_data(size, secs) : measure_get_data(size, secs);
        json row{{"op", op}, {"size", size}, {"ops_per_s", r.ops_per_s()}, {"ops", r.ops}};
        std::string zk_text;
#ifdef FKEMU_HAVE_ZOOKEEPER
        if (server) {
          const RateResult z = write ? measure_zookeeper_set_data(server->host_port(), size, secs)
                                     : measure_zookeeper_get_data(server->host_port(), size, secs);
          row["zookeeper_ops_per_s"] = z.ops_per_s();
          row["ratio"] = z.ops_per_s() > 0 ? r.ops_per_s() / z.ops_per_s() : 0.0;
          char buf[96];
          std::snprintf(buf, sizeof buf, "   ZooKeeper %9.0f/s   fkemu/ZooKeeper %6.1fx",
                        z.ops_per_s(), row["ratio"].get<double>());
          zk_text = buf;
        }
#endif
        std::printf("  %-34s %12.0f%s\n", (std::string(op) + " " + human_bytes(size)).c_str(),
                    r.ops_per_s(), zk_text.c_str());
        speed["rates"].push_back(row);
      }
    }
    std::printf(
        "  (set_data: the whole pipeline, client to answer; ZooKeeper: a real 3.8 server "
        "on loopback, the same synchronous loop with its C client)\n");
    std::printf("\n  %-12s %12s %14s %14s\n", "watchers", "notified", "write->last ms",
                "bytes/watcher");
    std::vector<size_t> fan = {1, 10, 100, 1000, 10000};
    if (a.quick) fan = {1, 10, 100, 1000};
    for (size_t n : fan) {
      const FanoutResult f = measure_watch_fanout(n);
      std::printf("  %-12zu %12zu %14.2f %14.0f\n", n, f.notified, f.wall_ms, f.bytes_per_watcher);
      speed["fanout"].push_back(json{{"watchers", n},
                                     {"notified", f.notified},
                                     {"wall_ms", f.wall_ms},
                                     {"bytes_per_watcher", f.bytes_per_watcher}});
    }
    const ExplorerRate e = measure_explorer(secs);
    std::printf(
        "\n  explorer: %.0f schedules/s (every fault site on, each judged; %zu generated "
        "scenarios, seed 1)\n",
        e.per_second(), e.scenarios);
    if (e.findings > 0)
      std::printf("  explorer: %zu violations on the correct protocol: a bug, run fkemu explore\n",
                  e.findings);
    speed["explorer"] = json{{"schedules_per_s", e.per_second()},
                             {"schedules", e.schedules},
                             {"scenarios", e.scenarios},
                             {"faults", true},
                             {"findings", e.findings}};
    const size_t nodes = a.quick ? 20000 : 1000000;
    const MemoryResult m = measure_memory_per_node(nodes);
    std::printf("\n  memory: %.0f bytes per node with %zu nodes (created in %.1f s)\n\n",
                m.bytes_per_node, m.nodes, m.seconds);
    speed["memory"] =
        json{{"nodes", m.nodes}, {"bytes_per_node", m.bytes_per_node}, {"seconds", m.seconds}};
    report["speed"] = speed;
  }

  // ---- 2. predicted cloud latency -------------------------------------------------------
  const size_t samples = a.quick ? std::min<size_t>(a.samples, 300) : a.samples;
  auto run = [&](PredictOptions o, size_t n) -> Prediction {
    o.samples = n;
    o.seed = a.seed;
    o.table = &t;
    auto p = predict(o);
    if (!p.is_ok()) throw std::runtime_error(p.status().message());
    return std::move(*p);
  };
  std::printf("Predicted latency on AWS (aws-2024 model, %zu samples each, seed %llu)\n", samples,
              static_cast<unsigned long long>(a.seed));
  std::printf("  %-28s %9s %9s %9s %9s\n", "", "p50 ms", "p90 ms", "p95 ms", "p99 ms");
  auto line = [](const std::string& label, const Prediction& p) {
    std::printf("  %-28s %9.1f %9.1f %9.1f %9.1f\n", label.c_str(), p.quantile_ms(0.5),
                p.quantile_ms(0.9), p.quantile_ms(0.95), p.quantile_ms(0.99));
  };
  std::vector<size_t> write_sizes = {4, 1024, 65536, 131072, 256000};
  if (a.quick) write_sizes = {4, 65536, 256000};
  PlotChart write_cdf{
      "Predicted set_data latency (2048 MB)", "latency (ms)", "fraction", false, {}};
  PlotChart read_cdf{"Predicted get_data latency", "latency (ms)", "fraction", false, {}};
  for (int mem : {512, 1024, 2048})
    for (size_t size : write_sizes) {
      PredictOptions o;
      o.size = size;
      o.memory_mb = mem;
      const Prediction p = run(o, samples);
      line("set_data " + human_bytes(size) + " " + std::to_string(mem) + " MB", p);
      report["predicted"]["set_data"].push_back(quantiles_json(p));
      if (mem == 2048) write_cdf.series.push_back({human_bytes(size), cdf_points(p.samples_ms)});
    }
  for (size_t size : write_sizes) {
    PredictOptions o;
    o.op = "get_data";
    o.size = size;
    const Prediction p = run(o, samples);
    line("get_data " + human_bytes(size), p);
    report["predicted"]["get_data"].push_back(quantiles_json(p));
    read_cdf.series.push_back({human_bytes(size), cdf_points(p.samples_ms)});
  }
  std::vector<size_t> watchers = {1, 10, 100, 1000, 10000};
  if (a.quick) watchers = {1, 10, 100};
  PlotChart watch{"Predicted watch notification latency (4 B, 2048 MB)",
                  "watchers",
                  "latency (ms)",
                  true,
                  {{"p50", {}}, {"p95", {}}, {"p99", {}}}};
  for (size_t n : watchers) {
    PredictOptions o;
    o.op = "watch";
    o.watchers = n;
    // Every callback of a round is a sample: 20 rounds, but at most 20,000 callbacks (each
    // round of 10,000 watchers takes over a minute: their registrations share one item).
    const Prediction p = run(o, std::max(samples, std::min<size_t>(20 * n, 20000)));
    line("watch, " + std::to_string(n) + " watcher" + (n == 1 ? "" : "s"), p);
    report["predicted"]["watch"].push_back(quantiles_json(p));
    const double x = static_cast<double>(n);
    watch.series[0].points.emplace_back(x, p.quantile_ms(0.5));
    watch.series[1].points.emplace_back(x, p.quantile_ms(0.95));
    watch.series[2].points.emplace_back(x, p.quantile_ms(0.99));
  }
  std::printf(
      "  (end to end as the client sees it; watch: from the set_data call to the "
      "watcher's callback)\n");
  charts = {write_cdf, read_cdf, watch};

  if (!a.plot.empty()) {
    auto svg = render_svg(charts);
    if (!svg.is_ok()) {
      std::fprintf(stderr, "fkemu bench: --plot: %s\n", svg.status().message().c_str());
      return 1;
    }
    std::ofstream out(a.plot, std::ios::binary);
    out << *svg;
    if (!out) {
      std::fprintf(stderr, "fkemu bench: --plot: cannot write %s\n", a.plot.c_str());
      return kExitUsage;
    }
    std::printf("\nplot: %s\n", a.plot.c_str());
  }
  if (!a.json_out.empty() && a.json_out != "-") {
    std::ofstream out(a.json_out, std::ios::binary);
    out << report.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "fkemu bench: --json: cannot write %s\n", a.json_out.c_str());
      return kExitUsage;
    }
    std::printf("report: %s\n", a.json_out.c_str());
  }
  return kExitOk;
}

}  // namespace fkemu::cli
