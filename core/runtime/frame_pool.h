// Coroutine frames come from per-size free lists: a frame freed is kept for the next frame of
// its size instead of going back to malloc. Every process, call and step of the protocol is a
// coroutine, so a set_data makes and frees dozens of frames, from a few hundred bytes to 8 KiB
// (a function's handler keeps every local that lives across an await); the larger ones miss
// malloc's per-thread cache and take its slow path every time.
//
// Sizes are rounded up to 64 bytes; frames above 16 KiB go to malloc directly. Each class keeps
// at most 256 free frames, and a thread at most 4 MiB of them. The lists are per thread (an
// executor and its tasks live on one thread; several executors may run on several threads, as
// `fkemu explore --jobs` does). Where a frame's memory comes from changes nothing a run does:
// determinism is untouched.
#pragma once

#include <cstddef>

namespace fkemu::frame_pool {

void* allocate(std::size_t bytes);
void release(void* frame, std::size_t bytes) noexcept;
// False under AddressSanitizer, where every frame goes to malloc and back.
bool pooling();
// Gives the calling thread's free frames back to malloc (a measurement of the heap that a
// workload holds calls it first: the free frames are a cache of at most 4 MiB, not the
// workload's).
void trim() noexcept;

}  // namespace fkemu::frame_pool
