// Persistent and persistent-recursive watches (addWatch, decision 51) under random schedules and
// with a writer, distributor or watch-function instance killed at each of its resumption points
// in turn. An add_watch takes its place in the order of updates (its answer's zxid): the
// session must get exactly one event for every later change its watches match, in zxid order,
// and none for an earlier one; a removed watch fires no more; a close leaves no registration.
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/protocol/client_session.h"
#include "core/protocol/watch.h"
#include "core/runtime/executor.h"
#include "emulator/local_service.h"
#include "emulator/quiescence.h"
#include "tests/support/kill_hook.h"

using namespace fkemu;

namespace {

Task<void> connect(ClientSession& s) { (void)co_await s.connect(); }
Task<void> close(ClientSession& s) { (void)co_await s.close(); }

using Event = std::tuple<int64_t, std::string, std::string>;  // zxid, event, path

struct Outcome {
  bool reached = false;
  std::vector<Event> got;  // session a's events, as they came
  std::vector<Event> expected;
  std::vector<std::string> problems;
  bool registrations_left = false;
};

// One change by session b and the events it owes a persistent watch on /p and a recursive one
// on /r.
struct Change {
  std::string op, path;
  std::vector<std::pair<std::string, std::string>> on_p, on_r;  // (event, path)
};

std::vector<Change> changes() {
  return {
      {"create", "/p", {{"NodeCreated", "/p"}}, {}},
      {"create", "/r", {}, {{"NodeCreated", "/r"}}},
      {"create", "/r/x", {}, {{"NodeCreated", "/r/x"}}},
      {"create", "/p/c", {{"NodeChildrenChanged", "/p"}}, {}},
      {"set", "/r/x", {}, {{"NodeDataChanged", "/r/x"}}},
      {"create", "/r/x/y", {}, {{"NodeCreated", "/r/x/y"}}},
      {"set", "/p", {{"NodeDataChanged", "/p"}}, {}},
      {"set", "/p/c", {}, {}},
      {"delete", "/r/x/y", {}, {{"NodeDeleted", "/r/x/y"}}},
      {"delete", "/p/c", {{"NodeChildrenChanged", "/p"}}, {}},
      {"set", "/r", {}, {{"NodeDataChanged", "/r"}}},
      {"delete", "/p", {{"NodeDeleted", "/p"}}, {}},
      {"create", "/p", {{"NodeCreated", "/p"}}, {}},
  };
}

Task<void> writes(ClientSession& b, std::vector<int64_t>& zxids) {
  for (const Change& c : changes()) {
    OpResult r;
    if (c.op == "create") r = co_await b.create(c.path, Bytes("v"), false, false);
    if (c.op == "set") r = co_await b.set_data(c.path, Bytes("w"), -1);
    if (c.op == "delete") r = co_await b.remove(c.path, -1);
    zxids.push_back(r.status.is_ok() ? r.zxid : -1);
  }
}

Task<void> watches(ClientSession& a, Executor& ex, Duration wait, int64_t& zr, int64_t& zp,
                   bool& removed, int64_t& removed_at) {
  co_await ex.sleep(wait, "watcher.wait");
  const OpResult r = co_await a.add_watch("/r", true);
  zr = r.status.is_ok() ? r.zxid : -1;
  const OpResult p = co_await a.add_watch("/p", false);
  zp = p.status.is_ok() ? p.zxid : -1;
  co_await ex.sleep(wait, "watcher.wait");
  // Remove the recursive watch (removeWatches, any kind): nothing more from it after this.
  removed = a.forget_watches("/r", true, true, false) == 1;
  removed_at = ex.now();
}

// `wait`: how long session a waits before it adds its watches (and again before it removes
// one) while session b writes.
Outcome run(uint64_t seed, const std::string& prefix, int kill_at, Duration wait) {
  Outcome out;
  Executor ex{seed};
  LocalService service{ex, DeploymentConfig{}};
  testing::kill_nth_resumption(ex, prefix, kill_at, out.reached);
  ClientSession& a = service.open_session("a");
  ClientSession& b = service.open_session("b");
  std::vector<std::tuple<Time, Event>> got;
  a.set_event_listener([&](const WatchedEvent& e) {
    got.emplace_back(ex.now(), Event{e.zxid, event_name(e.event), e.path});
  });
  ex.spawn("connect", connect(a));
  ex.spawn("connect", connect(b));
  ex.run(ex.now() + kSecond);
  std::vector<int64_t> zxids;
  int64_t zr = -1, zp = -1, removed_at = 0;
  bool removed = false;
  ex.spawn("writes", writes(b, zxids));
  ex.spawn("watches", watches(a, ex, wait, zr, zp, removed, removed_at));
  ex.run(ex.now() + 120 * kSecond);  // past every lock lifetime and visibility timeout
  REQUIRE(zxids.size() == changes().size());
  REQUIRE(zr > 0);
  REQUIRE(zp > 0);
  REQUIRE(removed);
  // What a must have got: every change after its watch, in zxid order. The recursive watch's
  // events stop with its removal; those of changes applied before it may have come or not.
  std::vector<Event> maybe;
  const std::vector<Change> all = changes();
  for (size_t i = 0; i < zxids.size(); ++i) {
    const Change& c = all[i];
    REQUIRE(zxids[i] > 0);
    if (zxids[i] > zp)
      for (const auto& [event, path] : c.on_p) out.expected.emplace_back(zxids[i], event, path);
    if (zxids[i] > zr)
      for (const auto& [event, path] : c.on_r) maybe.emplace_back(zxids[i], event, path);
  }
  for (const auto& [at, e] : got) {
    if (std::get<2>(e).rfind("/r", 0) == 0) {
      // A recursive watch's event: one it owed, once, and not after its removal.
      auto it = std::find(maybe.begin(), maybe.end(), e);
      if (it == maybe.end() || at > removed_at)
        out.problems.push_back("an unexpected event " + std::get<1>(e) + " " + std::get<2>(e) +
                               " at zxid " + std::to_string(std::get<0>(e)));
      else
        maybe.erase(it);
    } else {
      out.got.push_back(e);
    }
  }
  // The recursive watch's events of the changes before the second add_watch all came: its
  // answer waits for the notifications owed before it (the epoch), and the removal is later.
  for (const Event& e : maybe)
    if (std::get<0>(e) < zp)
      out.problems.push_back("a missing event " + std::get<1>(e) + " " + std::get<2>(e) +
                             " at zxid " + std::to_string(std::get<0>(e)));
  for (size_t i = 1; i < got.size(); ++i)
    if (std::get<0>(std::get<1>(got[i])) < std::get<0>(std::get<1>(got[i - 1])))
      out.problems.push_back("events out of zxid order");
  // The session's close removes its registrations from the system store.
  ex.spawn("close", close(a));
  ex.run(ex.now() + 60 * kSecond);
  for (WatchType t : {WatchType::Persistent, WatchType::Recursive})
    for (const char* p : {"/p", "/r"})
      if (auto item = service.system_store().get(kWatchesTable, watch_key(p, t)))
        if (!WatchList::from_item(*item).regs.empty()) out.registrations_left = true;
  for (const std::string& p : quiescence_problems(service)) out.problems.push_back(p);
  return out;
}

void check(const Outcome& out, const std::string& what) {
  INFO(what);
  for (const auto& p : out.problems) INFO("problem: " << p);
  CHECK(out.problems.empty());
  CHECK(out.got == out.expected);
  CHECK_FALSE(out.registrations_left);
}

}  // namespace

TEST_CASE("persistent watches fire once for every later change, in order, under random schedules",
          "[faults][watch][persistent]") {
  for (uint64_t seed = 1; seed <= 30; ++seed)
    check(run(seed, "", 0, static_cast<Duration>(seed % 7) * 20 * kMillisecond),
          "seed " + std::to_string(seed));
}

TEST_CASE("persistent watches survive a writer, distributor or watch instance killed anywhere",
          "[faults][watch][persistent]") {
  for (const char* prefix : {"writer#", "distributor#", "watch#"}) {
    int runs = 0;
    for (int n = 1; n < 300; ++n) {
      // (the watches are added as the writes begin: most changes come after them)
      const Outcome out = run(11, prefix, n, 0);
      if (!out.reached) break;
      ++runs;
      check(out, std::string(prefix) + " killed at await " + std::to_string(n));
    }
    INFO(prefix);
    CHECK(runs > 3);
  }
}
