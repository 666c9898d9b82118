// Heap allocations per operation through the whole in-process pipeline (apps/report/speed.h's
// SpeedDeployment: client, writer, distributor, user store, answer), counted by replacing the
// global operator new (bench/allocation_count.h). payload_copies_per_op counts the allocations
// at least as large as the node's data: each is a copy of the payload (or of something as
// large), which is what typed records and shared payload buffers are to remove (issue 15).
// The figures are exact counts, not timings: the same on every machine for the same build.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "apps/report/speed.h"
#include "bench/allocation_count.h"

namespace {

using namespace fkemu;

struct PerOp {
  uint64_t ops = 0;
  bench::AllocationTally sum;
  void add(const bench::AllocationTally& t) {
    ++ops;
    sum.allocations += t.allocations;
    sum.bytes += t.bytes;
    sum.large += t.large;
  }
  void report(benchmark::State& state, bool payload) const {
    const double n = ops ? static_cast<double>(ops) : 1.0;
    state.counters["allocs_per_op"] = static_cast<double>(sum.allocations) / n;
    state.counters["bytes_per_op"] = static_cast<double>(sum.bytes) / n;
    if (payload) state.counters["payload_copies_per_op"] = static_cast<double>(sum.large) / n;
  }
};

// Payloads of at least this size are large enough to tell their copies from other allocations.
constexpr size_t kCopiesFrom = 1024;

void BM_AllocationsPerSetData(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  // The caller's buffer: the client call shares it on to the user store.
  const Bytes data(std::string(size, 'x'));
  SpeedDeployment d;
  if (!d.create("/a", data) || !d.set_data("/a", data))  // the first one warms the paths
    return state.SkipWithError("set_data failed");
  PerOp per_op;
  for (auto _ : state) {
    bench::CountAllocations count(size >= kCopiesFrom ? size : SIZE_MAX);
    const bool ok = d.set_data("/a", data);
    const bench::AllocationTally t = count.tally();
    if (!ok) return state.SkipWithError("set_data failed");
    per_op.add(t);
  }
  per_op.report(state, size >= kCopiesFrom);
}
BENCHMARK(BM_AllocationsPerSetData)->Arg(4)->Arg(1024)->Arg(64 * 1024)->Iterations(20);

void BM_AllocationsPerGetData(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  SpeedDeployment d;
  if (!d.create("/a", std::string(size, 'x')) || !d.get_data("/a"))
    return state.SkipWithError("create or get_data failed");
  PerOp per_op;
  Bytes got;
  for (auto _ : state) {
    bench::CountAllocations count(size >= kCopiesFrom ? size : SIZE_MAX);
    const bool ok = d.get_data("/a", &got);
    const bench::AllocationTally t = count.tally();
    if (!ok || got.size() != size) return state.SkipWithError("get_data failed");
    per_op.add(t);
  }
  per_op.report(state, size >= kCopiesFrom);
}
BENCHMARK(BM_AllocationsPerGetData)->Arg(4)->Arg(1024)->Arg(64 * 1024)->Iterations(20);

}  // namespace
