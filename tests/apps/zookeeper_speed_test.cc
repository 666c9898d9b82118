// The ZooKeeper baselines of apps/report/speed.h against a real ZooKeeper 3.8 on loopback: they
// count completed operations. Speed is never asserted.
#include <catch2/catch.hpp>
#include <string>

#include "apps/report/speed.h"
#include "harness/zookeeper_server.h"

using namespace fkemu;

TEST_CASE("the ZooKeeper baselines count completed operations", "[speed][zookeeper]") {
  auto zk = zkref::ZooKeeperServer::start();
  INFO(zk.status().to_string());
  REQUIRE(zk.is_ok());  // a missing ZooKeeper is a failure, not a skip
  const std::string host_port = (*zk)->host_port();
  const RateResult w = measure_zookeeper_set_data(host_port, 100, 0.05, 0.05);
  CHECK(w.ops > 0);
  CHECK(w.seconds >= 0.05);
  const RateResult r = measure_zookeeper_get_data(host_port, 100, 0.05, 0.05);
  CHECK(r.ops > 0);
  CHECK(r.ops_per_s() > 0);
}
