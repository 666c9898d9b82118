#include "core/runtime/trace.h"

#include <cstdio>

namespace fkemu {

void Trace::mix(uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    hash_ ^= (v >> (8 * i)) & 0xff;
    hash_ *= 0x100000001b3ULL;
  }
}

void Trace::record(const Decision& d) {
  mix(d.chosen);
  mix(d.ready);
  mix(static_cast<uint64_t>(d.time));
  mix(d.pid);
  for (char c : d.label) mix(static_cast<unsigned char>(c));
  ++count_;
  if (keep_) decisions_.push_back(d);
}

std::string Trace::hash_hex() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash_));
  return buf;
}

}  // namespace fkemu
