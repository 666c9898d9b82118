// The emulator's own speed on one core with the zero latency model: a synchronous set_data
// through the whole pipeline (client -> writer queue -> writer -> distributor queue ->
// distributor -> user store -> answer), and get_data straight from the user store. Both drive a
// apps/report/speed.h SpeedDeployment, the deployment measure_pipeline_set_data uses.
#include <benchmark/benchmark.h>

#include <string>

#include "apps/report/speed.h"

namespace {

using namespace fkemu;

void BM_SetDataPipeline(benchmark::State& state) {
  SpeedDeployment d;
  if (!d.create("/bench", "")) return state.SkipWithError("create failed");
  const Bytes data(std::string(static_cast<size_t>(state.range(0)), 'x'));
  for (auto _ : state) {
    if (!d.set_data("/bench", data)) state.SkipWithError("set_data failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SetDataPipeline)->Arg(4)->Arg(1024)->Arg(64 * 1024);

void BM_GetData(benchmark::State& state) {
  SpeedDeployment d;
  if (!d.create("/bench", std::string(static_cast<size_t>(state.range(0)), 'x')))
    return state.SkipWithError("create failed");
  Bytes got;
  for (auto _ : state) {
    d.get_data("/bench", &got);
    benchmark::DoNotOptimize(got.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetData)->Arg(4)->Arg(1024);

}  // namespace
