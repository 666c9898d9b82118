// The history checker's throughput: a history of N lines (copies of a recorded block with
// every kind of operation and watch, harness/history_scale.h) checked for G1-G10. The goal is
// 1,000,000 lines in at most 2 s; the figure is reported, never asserted.
#include <benchmark/benchmark.h>

#include "harness/checker.h"
#include "harness/history_scale.h"

namespace {

using namespace fkemu;

void BM_CheckHistory(benchmark::State& state) {
  const auto h = scaled_history(static_cast<size_t>(state.range(0)));
  size_t violations = 0;
  for (auto _ : state) violations += check_history(block_scenario(), h).size();
  if (violations) state.SkipWithError("the scaled history should be valid");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(h.size()));
  state.counters["lines"] = static_cast<double>(h.size());
}
BENCHMARK(BM_CheckHistory)->Arg(10000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
