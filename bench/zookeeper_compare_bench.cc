// The same synchronous loop against fkemu's in-process pipeline and against a real Apache
// ZooKeeper 3.8 started here (apps/report/speed.h), in one process, each warmed up first: one
// set_data (or get_data) after the other, each waiting for its answer, on one node. Counters:
// both rates and fkemu's rate over ZooKeeper's. Sizes: bench_sizes.h (full: 1.5 s measured
// after 0.5 s of warm-up per target; small: 0.1 s after 0.1 s).
#include <benchmark/benchmark.h>

#include <exception>
#include <memory>
#include <string>

#include "apps/report/speed.h"
#include "bench/bench_sizes.h"
#include "harness/zookeeper_server.h"

namespace {

using namespace fkemu;

// Started once, from the benchmark's (main) thread, and stopped at exit.
const Result<std::unique_ptr<zkref::ZooKeeperServer>>& zookeeper() {
  static const Result<std::unique_ptr<zkref::ZooKeeperServer>> zk = zkref::ZooKeeperServer::start();
  return zk;
}

void same_loop(benchmark::State& state, bool write) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const bool full = bench::full_sizes();
  const double seconds = full ? 1.5 : 0.1;
  const double warm_up = full ? 0.5 : 0.1;
  const auto& zk = zookeeper();
  if (!zk.is_ok())
    return state.SkipWithError(
        ("no ZooKeeper to compare with: " + zk.status().to_string()).c_str());
  RateResult fk, ref;
  try {
    for (auto _ : state) {
      fk = write ? measure_pipeline_set_data(bytes, seconds, warm_up)
                 : measure_get_data(bytes, seconds, warm_up);
      ref = write ? measure_zookeeper_set_data((*zk)->host_port(), bytes, seconds, warm_up)
                  : measure_zookeeper_get_data((*zk)->host_port(), bytes, seconds, warm_up);
    }
  } catch (const std::exception& e) {
    return state.SkipWithError(e.what());
  }
  state.counters["fkemu_per_s"] = fk.ops_per_s();
  state.counters["zookeeper_per_s"] = ref.ops_per_s();
  state.counters["fkemu_vs_zk"] = ref.ops_per_s() > 0 ? fk.ops_per_s() / ref.ops_per_s() : 0;
}

void BM_SameLoopVsZooKeeperSetData(benchmark::State& state) { same_loop(state, true); }
void BM_SameLoopVsZooKeeperGetData(benchmark::State& state) { same_loop(state, false); }
BENCHMARK(BM_SameLoopVsZooKeeperSetData)
    ->Arg(16)
    ->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK(BM_SameLoopVsZooKeeperGetData)
    ->Arg(16)
    ->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
