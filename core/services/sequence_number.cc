// SequenceNumber::to_string: the decimal form of the 128-bit value, as SQS prints it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "core/services/fifo_queue.h"

namespace fkemu {

std::string SequenceNumber::to_string() const {
  // Four 32-bit limbs, most significant first, divided by 10 until zero (at most 39 digits).
  std::array<uint64_t, 4> limbs = {hi >> 32, hi & 0xffffffffu, lo >> 32, lo & 0xffffffffu};
  std::string digits;
  auto is_zero = [&limbs] {
    return std::all_of(limbs.begin(), limbs.end(), [](uint64_t l) { return l == 0; });
  };
  do {
    uint64_t remainder = 0;
    for (uint64_t& limb : limbs) {
      const uint64_t current = (remainder << 32) | limb;
      limb = current / 10;
      remainder = current % 10;
    }
    digits.push_back(static_cast<char>('0' + remainder));
  } while (!is_zero());
  std::reverse(digits.begin(), digits.end());
  return digits;
}

}  // namespace fkemu
