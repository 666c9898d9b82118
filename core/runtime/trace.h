// Trace: the sequence of scheduling decisions of a run and its hash.
//
// A decision is (index picked, number of ready tasks, virtual time, process, label). The hash is
// FNV-1a over all of them, so two runs with the same hash made the same choices at the same
// virtual times. The same seed must give the same hash; tests check it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/clock.h"
#include "core/runtime/scheduler.h"

namespace fkemu {

struct Decision {
  uint32_t chosen = 0;
  uint32_t ready = 0;
  Time time = 0;
  ProcessId pid = 0;
  std::string_view label;
};

class Trace {
 public:
  void record(const Decision& d);
  uint64_t hash() const { return hash_; }
  size_t size() const { return count_; }
  // Keeps every decision (for replay and display) only when asked: long runs need only the hash.
  void keep_decisions(bool keep) { keep_ = keep; }
  const std::vector<Decision>& decisions() const { return decisions_; }
  std::string hash_hex() const;

 private:
  void mix(uint64_t v);
  uint64_t hash_ = 0xcbf29ce484222325ULL;
  size_t count_ = 0;
  bool keep_ = false;
  std::vector<Decision> decisions_;
};

}  // namespace fkemu
