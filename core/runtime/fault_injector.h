// FaultInjector: the named fault sites of the protocol and the function runtime, BUGGIFY style.
//
// Code that can fail in a way the cloud allows asks `fire("site.name")` at the place where the
// fault would happen; the injector decides (from the run's seed, or from a recorded trace on
// replay) and records every fault it injects. Without an injector nothing fires.
//
// Sites (docs/faults.md lists them with their effect):
//   send.retry           a queue send is retried with the same deduplication id
//   deliver.duplicate    the runtime hands one batch to two function instances
//   deliver.lost_delete  an instance finishes but its batch is not deleted (redelivered later)
//   clock.skew           a new function instance's clock is off by up to 1 s
//   session.unresponsive a client stops answering heartbeats (its session expires)
//   client.disconnect    a client's connection drops for up to 1 s (answers and events wait)
// and, decided at resumption points by the harness: kill.<function> (the instance dies at an
// await point) and delay.lock_lifetime (the instance stalls past the lock lifetime).
#pragma once

#include <string_view>

#include "core/runtime/clock.h"

namespace fkemu {

class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual bool fire(std::string_view site) = 0;
  // A value in [-bound, bound] for a fired site that needs one (clock.skew).
  virtual Duration amount(std::string_view site, Duration bound) = 0;
};

}  // namespace fkemu
