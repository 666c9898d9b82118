// apps/report/speed.h: the measurements count what they claim to count. Speed itself is never
// asserted (it is reported by the benchmarks).
#include "apps/report/speed.h"

#include <catch2/catch.hpp>
#include <string>

using namespace fkemu;

TEST_CASE("watch fan-out notifies every registered watcher exactly once", "[speed]") {
  for (size_t n : {1, 10, 100}) {
    INFO("watchers: " << n);
    const FanoutResult r = measure_watch_fanout(n);
    CHECK(r.watchers == n);
    CHECK(r.registered == n);
    CHECK(r.notified == n);
    CHECK(r.wall_ms >= 0);
    CHECK(r.total_ms >= r.wall_ms);
    // A registration keeps at least its id and session name in the system store.
    CHECK(r.bytes_per_watcher > 0);
  }
}

TEST_CASE("memory per node is positive and plausible", "[speed]") {
  const MemoryResult r = measure_memory_per_node(2000);
  CHECK(r.nodes == 2000);
  CHECK(r.bytes_per_node > 50);
  CHECK(r.bytes_per_node < 100000);
  CHECK(r.seconds > 0);
}

TEST_CASE("the pipeline rates count completed operations", "[speed]") {
  const RateResult w = measure_pipeline_set_data(16, 0.02, 0.01);
  CHECK(w.ops > 0);
  CHECK(w.seconds >= 0.02);
  CHECK(w.ops_per_s() > 0);
  const RateResult r = measure_get_data(1024, 0.02, 0.01);
  CHECK(r.ops > 0);
  CHECK(r.seconds >= 0.02);
  CHECK(r.ops_per_s() > 0);
  CHECK(RateResult{}.ops_per_s() == 0);
}

TEST_CASE("a SpeedDeployment answers what was written", "[speed]") {
  SpeedDeployment d;
  REQUIRE(d.create("/a", "one"));
  CHECK_FALSE(d.create("/a", "again"));  // NodeExists
  REQUIRE(d.set_data("/a", std::string(300, 'z')));
  Bytes got;
  REQUIRE(d.get_data("/a", &got));
  CHECK(got.view() == std::string(300, 'z'));
  CHECK_FALSE(d.get_data("/missing", &got));
  CHECK_FALSE(d.set_data("/missing", "x"));
}
