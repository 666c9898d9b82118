// LatencyModel: how long a call into a cloud service takes, in virtual time.
//
// The executor asks it once per service call (the component name says which call: "kv.get",
// "queue.send", ...). The zero model answers 0 so exploration runs as fast as possible; the
// calibrated model of the benchmark work samples measured AWS distributions. Draws come from the
// run's Rng so latency is part of the deterministic trace.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/runtime/clock.h"
#include "core/runtime/rng.h"

namespace fkemu {

class LatencyModel {
 public:
  virtual ~LatencyModel() = default;
  virtual Duration delay(std::string_view component, size_t bytes, Rng& rng) = 0;
};

class ZeroLatency final : public LatencyModel {
 public:
  Duration delay(std::string_view, size_t, Rng&) override { return 0; }
};

}  // namespace fkemu
