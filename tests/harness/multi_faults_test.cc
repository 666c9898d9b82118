// multi and container cleanup under faults, in the style of the kill-at-every-await loops: a
// writer or distributor instance killed at each of its resumption points in turn, under random
// schedules. Every run must end with the multi applied whole or not at all (as its answer says),
// a reader that saw any of its nodes never seeing another in its older state (G4), an emptied
// container gone, and the stores quiescent and in agreement.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/client_session.h"
#include "core/runtime/executor.h"
#include "emulator/local_service.h"
#include "emulator/quiescence.h"
#include "tests/support/kill_hook.h"

using namespace fkemu;

namespace {

Task<void> connect(ClientSession& s) { (void)co_await s.connect(); }

struct Outcome {
  bool reached = false;  // the kill happened
  OpResult multi;
  std::vector<std::string> problems;
  std::vector<std::string> torn;  // reads that saw the multi half applied
  bool container_gone = false;
  std::optional<std::string> data;    // /m's data at the end
  std::vector<std::string> children;  // /m's children at the end
};

// Session a: one multi (create /m, an ephemeral and a sequential child, set /m, check /m), then
// a delete of the container's only child. Session b: reads /m/x then /m while the multi runs: if
// it sees /m/x, /m must show the multi's set and both children.
Task<void> workload(ClientSession& a, ClientSession& b, Outcome& out, Executor& ex) {
  std::vector<MultiOp> ops;
  ops.emplace_back(CreateRequest{"/m", Bytes("first")});
  CreateRequest eph{"/m/x", Bytes("e")};
  eph.ephemeral = true;
  ops.emplace_back(eph);
  ops.emplace_back(SetDataRequest{"/m", Bytes("second"), 0});
  CreateRequest seq{"/m/s-", Bytes()};
  seq.sequential = true;
  ops.emplace_back(seq);
  ops.emplace_back(CheckRequest{"/m", 1});
  (void)co_await a.create("/c", Bytes(), false, false, /*container=*/true);
  (void)co_await a.create("/c/only", Bytes(), false, false);
  struct Reader {
    static Task<void> run(ClientSession& b, Outcome& out, Executor& ex) {
      for (int i = 0; i < 20; ++i) {
        const OpResult x = co_await b.exists("/m/x", false);
        if (x.status.is_ok() && !x.stat_null) {
          const OpResult m = co_await b.get_data("/m", false);
          if (!m.status.is_ok() || m.data.view() != "second")
            out.torn.push_back("saw /m/x, then /m with data '" + std::string(m.data.view()) +
                               "' (" + m.status.to_string() + ")");
          const OpResult kids = co_await b.get_children("/m", false);
          if (!kids.children || kids.children->size() != 2)
            out.torn.push_back("saw /m/x, then /m with " +
                               std::to_string(kids.children ? kids.children->size() : 0) +
                               " children");
          co_return;
        }
        co_await ex.sleep(5 * kMillisecond, "reader.wait");
      }
    }
  };
  ex.spawn("reader", Reader::run(b, out, ex));
  out.multi = co_await a.multi(std::move(ops));
  (void)co_await a.remove("/c/only", -1);
}

Outcome run(uint64_t seed, const std::string& prefix, int kill_at) {
  Outcome out;
  Executor ex{seed};
  LocalService service{ex, DeploymentConfig{}};
  testing::kill_nth_resumption(ex, prefix, kill_at, out.reached);
  ClientSession& a = service.open_session("a");
  ClientSession& b = service.open_session("b");
  ex.spawn("connect", connect(a));
  ex.spawn("connect", connect(b));
  ex.run(ex.now() + kSecond);
  ex.spawn("workload", workload(a, b, out, ex));
  ex.run(ex.now() + 120 * kSecond);  // past every lock lifetime and visibility timeout
  const auto m = service.user_store().get("/m");
  if (m) {
    const UserRecord r = UserRecord::from_object(*m);
    if (r.is_node()) {
      out.data = std::string(r.data.view());
      out.children = r.children;
    }
  }
  const auto c = service.user_store().get("/c");
  out.container_gone = !c || !UserRecord::from_object(*c).is_node();
  out.problems = quiescence_problems(service);
  return out;
}

void check(const Outcome& out, const std::string& what) {
  INFO(what);
  for (const auto& p : out.problems) INFO("quiescence: " << p);
  CHECK(out.problems.empty());
  for (const auto& t : out.torn) INFO("torn read: " << t);
  CHECK(out.torn.empty());
  CHECK(out.container_gone);
  if (out.multi.status.is_ok()) {
    REQUIRE(out.multi.results.size() == 5);
    CHECK(out.multi.results[3].path == "/m/s-0000000001");
    CHECK(out.data == "second");
    CHECK(out.children == std::vector<std::string>{"s-0000000001", "x"});
  } else {
    // Refused or lost with its session: then nothing of it is there.
    CHECK_FALSE(out.data.has_value());
  }
}

}  // namespace

TEST_CASE("a multi and a container's cleanup under random schedules", "[faults][multi]") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const Outcome out = run(seed, "", 0);
    check(out, "seed " + std::to_string(seed));
    CHECK(out.multi.status.is_ok());
  }
}

TEST_CASE("killing the writer or the distributor at every await point keeps a multi whole",
          "[faults][multi]") {
  for (const char* prefix : {"writer#", "distributor#"}) {
    int runs = 0;
    for (int n = 1; n < 400; ++n) {
      const Outcome out = run(7, prefix, n);
      if (!out.reached) break;
      ++runs;
      check(out, std::string(prefix) + " killed at resumption " + std::to_string(n));
    }
    INFO(prefix);
    CHECK(runs > 10);
  }
}
