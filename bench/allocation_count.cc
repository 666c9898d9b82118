#include "bench/allocation_count.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace fkemu::bench {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
std::atomic<uint64_t> g_bytes{0};
std::atomic<uint64_t> g_large{0};
std::atomic<size_t> g_large_from{SIZE_MAX};

void* allocate(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(n, std::memory_order_relaxed);
    if (n >= g_large_from.load(std::memory_order_relaxed))
      g_large.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

}  // namespace

CountAllocations::CountAllocations(size_t large_from) {
  g_allocations = 0;
  g_bytes = 0;
  g_large = 0;
  g_large_from = large_from;
  g_counting = true;
}

CountAllocations::~CountAllocations() { g_counting = false; }

AllocationTally CountAllocations::tally() const {
  return AllocationTally{g_allocations.load(), g_bytes.load(), g_large.load()};
}

}  // namespace fkemu::bench

// The replaceable global allocation functions ([new.delete.single], [new.delete.array]), the
// nothrow forms included: every one of them must be replaced, or a sanitizer's own version of
// one would pair with these deallocations. The aligned forms keep their own (uncounted)
// definitions, which pair with their own deallocation functions.
void* operator new(size_t n) { return fkemu::bench::allocate(n); }
void* operator new[](size_t n) { return fkemu::bench::allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return fkemu::bench::allocate(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t& tag) noexcept { return operator new(n, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
