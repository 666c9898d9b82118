// Watch fan-out and memory per node (apps/report/speed.h), one measurement per benchmark run
// (Iterations(1)); the figures are the counters. Sizes: bench_sizes.h.
#include <benchmark/benchmark.h>

#include <exception>

#include "apps/report/speed.h"
#include "bench/bench_sizes.h"

namespace {

using namespace fkemu;

// One set_data notifies N sessions that each hold a data watch on the node: wall_ms from the
// write until the last event was delivered, bytes_per_watcher the heap the registrations keep.
void BM_WatchFanout(benchmark::State& state) {
  FanoutResult r;
  try {
    for (auto _ : state) r = measure_watch_fanout(static_cast<size_t>(state.range(0)));
  } catch (const std::exception& e) {
    return state.SkipWithError(e.what());
  }
  if (r.notified != r.watchers) state.SkipWithError("not every watcher was notified");
  state.counters["wall_ms"] = r.wall_ms;
  state.counters["total_ms"] = r.total_ms;
  state.counters["register_ms"] = r.register_ms;
  state.counters["bytes_per_watcher"] = r.bytes_per_watcher;
  state.counters["notified"] = static_cast<double>(r.notified);
}
BENCHMARK(BM_WatchFanout)
    ->Apply([](benchmark::internal::Benchmark* b) {
      for (int n : {1, 10, 100, 1000}) b->Arg(n);
      if (bench::full_sizes()) b->Arg(10000);
    })
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Heap per node after creating N nodes through the protocol (a tree of fan-out 100), and how
// long creating them took.
void BM_MemoryPerNode(benchmark::State& state) {
  MemoryResult r;
  try {
    for (auto _ : state) r = measure_memory_per_node(static_cast<size_t>(state.range(0)));
  } catch (const std::exception& e) {
    return state.SkipWithError(e.what());
  }
  state.counters["bytes_per_node"] = r.bytes_per_node;
  state.counters["create_seconds"] = r.seconds;
  state.counters["creates_per_s"] = r.seconds > 0 ? static_cast<double>(r.nodes) / r.seconds : 0;
}
BENCHMARK(BM_MemoryPerNode)
    ->Apply([](benchmark::internal::Benchmark* b) {
      b->Arg(bench::full_sizes() ? 1000000 : 10000);
    })
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
