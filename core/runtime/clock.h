// Time in fkemu: microseconds as a signed 64-bit count. In simulation this is virtual time that
// moves only when the executor jumps to the next timer; in serve mode it follows a steady clock.
#pragma once

#include <cstdint>

namespace fkemu {

using Time = int64_t;      // microseconds since the start of the run
using Duration = int64_t;  // microseconds

constexpr Duration kMillisecond = 1000;
constexpr Duration kSecond = 1000 * kMillisecond;

// Read-only view of the run's clock, handed to whatever needs "now" (the fakes, the protocol).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

}  // namespace fkemu
