// Counting the heap allocations of a piece of code, for the allocation benchmarks
// (bench/allocation_bench.cc): allocation_count.cc replaces the global operator new of the
// fkemu_bench binary with one that counts while a CountAllocations is alive, and otherwise only
// allocates.
//
// One thread at a time may count (the benchmarks are single-threaded); allocations made by other
// threads meanwhile are counted too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fkemu::bench {

struct AllocationTally {
  uint64_t allocations = 0;  // calls of operator new (and new[]), of any size
  uint64_t bytes = 0;        // the sizes they asked for
  uint64_t large = 0;        // those of at least `large_from` bytes
};

// Counts from construction to tally(); nested counts are not supported.
class CountAllocations {
 public:
  // Allocations of at least `large_from` bytes are also counted apart: with a payload of that
  // size, each is a copy of the payload (or of something as large).
  explicit CountAllocations(size_t large_from = SIZE_MAX);
  ~CountAllocations();
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  // What was counted so far.
  AllocationTally tally() const;
};

}  // namespace fkemu::bench
