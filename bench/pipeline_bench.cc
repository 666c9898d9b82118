// The emulator's own speed on one core with the zero latency model: a synchronous set_data
// through the whole pipeline (client -> writer queue -> writer -> distributor queue ->
// distributor -> user store -> answer), and get_data straight from the user store.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <string>

#include "emulator/local_service.h"

namespace {

using namespace fkemu;

struct Bench {
  Executor ex{1};
  LocalService service{ex, DeploymentConfig{}};
  ClientSession* session = nullptr;

  Bench() {
    session = &service.open_session("bench");
    run([](ClientSession& s) -> Task<OpResult> {
      (void)co_await s.connect();
      co_return co_await s.create("/bench", "", false, false);
    });
  }

  template <class F>
  OpResult run(F f) {
    std::optional<OpResult> out;
    ex.spawn("op", body(f, out));
    ex.run();
    return *out;
  }

  template <class F>
  Task<void> body(F f, std::optional<OpResult>& out) {
    out = co_await f(*session);
  }
};

void BM_SetDataPipeline(benchmark::State& state) {
  Bench b;
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    auto r = b.run([&](ClientSession& s) { return s.set_data("/bench", data, -1); });
    if (!r.status.is_ok()) state.SkipWithError("set_data failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SetDataPipeline)->Arg(4)->Arg(1024)->Arg(64 * 1024);

void BM_GetData(benchmark::State& state) {
  Bench b;
  const std::string data(static_cast<size_t>(state.range(0)), 'x');
  b.run([&](ClientSession& s) { return s.set_data("/bench", data, -1); });
  for (auto _ : state) {
    auto r = b.run([](ClientSession& s) { return s.get_data("/bench", false); });
    benchmark::DoNotOptimize(r.data.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetData)->Arg(4)->Arg(1024);

}  // namespace
