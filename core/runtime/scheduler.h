// Scheduler: the policy that picks which ready task the executor resumes next.
//
// The executor keeps ready tasks in the order they became ready and asks the scheduler for an
// index. Every pick is recorded in the run's Trace, so a policy only has to be a function of the
// ready list and the run's Rng for a run to be reproducible from its seed.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/rng.h"

namespace fkemu {

using ProcessId = uint64_t;

struct ReadyEntry {
  std::coroutine_handle<> handle;
  ProcessId pid = 0;
  uint64_t seq = 0;        // order in which entries became ready
  std::string_view label;  // what the task is about to do ("kv.get", "timer", ...); static storage
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string name() const = 0;
  // Returns an index into `ready` (never empty).
  virtual size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) = 0;
};

// Resumes the task that has been ready longest: the serve-mode policy and the reference
// schedule of a scenario.
class OldestFirstScheduler final : public Scheduler {
 public:
  std::string name() const override { return "oldest-first"; }
  size_t pick(const std::vector<ReadyEntry>&, Rng&) override { return 0; }
};

// Resumes a uniformly random ready task: a seeded random walk over interleavings.
class RandomScheduler final : public Scheduler {
 public:
  std::string name() const override { return "random"; }
  size_t pick(const std::vector<ReadyEntry>& ready, Rng& rng) override {
    return static_cast<size_t>(rng.below(ready.size()));
  }
};

std::unique_ptr<Scheduler> make_scheduler(std::string_view name);  // nullptr if unknown

}  // namespace fkemu
