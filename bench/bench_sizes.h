// Which sizes the suites measure. Full sizes (a million nodes, 10,000 watchers, the longer
// ZooKeeper comparison) take minutes on a sanitizer build, so:
//   FKEMU_BENCH_FULL=1  full sizes;
//   FKEMU_BENCH_FULL=0  small sizes (the CTest "bench: the benchmarks run" sets this);
//   unset               full sizes in an optimized build (NDEBUG), small sizes otherwise.
// Small sizes are registered under their own arguments (e.g. MemoryPerNode/10000), so a small
// figure is never reported under a full size's name.
#pragma once

#include <cstdlib>
#include <string>

namespace fkemu::bench {

inline bool full_sizes() {
  if (const char* v = std::getenv("FKEMU_BENCH_FULL")) return std::string(v) != "0";
#ifdef NDEBUG
  return true;
#else
  return false;
#endif
}

}  // namespace fkemu::bench
