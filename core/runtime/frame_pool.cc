#include "core/runtime/frame_pool.h"

#include <new>
#include <utility>

namespace fkemu::frame_pool {

// Under AddressSanitizer every frame goes to malloc and back, so that a frame used after its
// coroutine was destroyed (a kill at an await point, say) is still reported.
#if defined(__SANITIZE_ADDRESS__)
#define FKEMU_FRAME_POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FKEMU_FRAME_POOL_OFF 1
#endif
#endif

#ifndef FKEMU_FRAME_POOL_OFF
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kLargest = 16 * 1024;
constexpr std::size_t kClasses = kLargest / kGranule;
constexpr unsigned kKeptPerClass = 256;
constexpr std::size_t kKeptBytes = 4 * 1024 * 1024;

struct FreeFrame {
  FreeFrame* next;
};

struct Lists {
  FreeFrame* head[kClasses] = {};
  unsigned kept[kClasses] = {};
  std::size_t kept_bytes = 0;
  bool open = true;  // false once the thread's lists are gone: frames freed later go to malloc
  ~Lists() {
    open = false;
    for (FreeFrame*& h : head)
      while (h) ::operator delete(std::exchange(h, h->next));
  }
};

thread_local Lists lists;

// The class of a frame of `bytes` (0 for 1..64), or kClasses for a frame too large to keep.
std::size_t class_of(std::size_t bytes) {
  return bytes == 0 || bytes > kLargest ? kClasses : (bytes - 1) / kGranule;
}

}  // namespace
#endif

#ifdef FKEMU_FRAME_POOL_OFF
void* allocate(std::size_t bytes) { return ::operator new(bytes); }
void release(void* frame, std::size_t) noexcept { ::operator delete(frame); }
bool pooling() { return false; }
void trim() noexcept {}
#else
bool pooling() { return true; }

void trim() noexcept {
  for (std::size_t c = 0; c < kClasses; ++c) {
    while (FreeFrame* f = lists.head[c]) {
      lists.head[c] = f->next;
      ::operator delete(f);
    }
    lists.kept[c] = 0;
  }
  lists.kept_bytes = 0;
}

void* allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (c == kClasses) return ::operator new(bytes);
  if (FreeFrame* f = lists.head[c]) {
    lists.head[c] = f->next;
    --lists.kept[c];
    lists.kept_bytes -= (c + 1) * kGranule;
    return f;
  }
  return ::operator new((c + 1) * kGranule);
}

void release(void* frame, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (c == kClasses || !lists.open || lists.kept[c] >= kKeptPerClass ||
      lists.kept_bytes + (c + 1) * kGranule > kKeptBytes)
    return ::operator delete(frame);
  lists.head[c] = new (frame) FreeFrame{lists.head[c]};
  ++lists.kept[c];
  lists.kept_bytes += (c + 1) * kGranule;
}
#endif

}  // namespace fkemu::frame_pool
