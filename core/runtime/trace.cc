#include "core/runtime/trace.h"

#include <array>
#include <cstdio>

namespace fkemu {

namespace {

// FNV-1a over the eight bytes of each value, low byte first. A zero byte only multiplies by
// the prime, so a run of k zero bytes is one multiplication by prime^k: the same hash, with
// a multiplication per nonzero byte instead of one per byte.
constexpr uint64_t kPrime = 0x100000001b3ULL;
constexpr auto kPrimePowers = [] {
  std::array<uint64_t, 9> p{};
  p[0] = 1;
  for (size_t k = 1; k < p.size(); ++k) p[k] = p[k - 1] * kPrime;
  return p;
}();

}  // namespace

void Trace::mix(uint64_t v) {
  int zeros = 0;
  for (int i = 0; i < 8; ++i) {
    const uint64_t byte = (v >> (8 * i)) & 0xff;
    if (byte == 0) {
      ++zeros;
      continue;
    }
    hash_ = ((hash_ * kPrimePowers[zeros]) ^ byte) * kPrime;
    zeros = 0;
  }
  hash_ *= kPrimePowers[zeros];
}

void Trace::record(const Decision& d) {
  mix(d.chosen);
  mix(d.ready);
  mix(static_cast<uint64_t>(d.time));
  mix(d.pid);
  // A character is a value whose seven high bytes are zero.
  for (char c : d.label) hash_ = (hash_ ^ static_cast<unsigned char>(c)) * kPrimePowers[8];
  ++count_;
  if (keep_) decisions_.push_back(d);
}

std::string Trace::hash_hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_));
  return buf;
}

}  // namespace fkemu
