// Runs a `sequential` scenario, as the scenario loader gives it
// (harness/scenario.h), against a real Apache ZooKeeper server with the
// ZooKeeper C client and records the history in the scenario history format,
// so that fkemu's history for the same scenario can be compared with it
// (history_diff.h).
//
// Guarantees:
//  - One C-client session per name in "sessions", opened in that order
//    before the first step, all with ZOO_OPEN_ACL_UNSAFE. The session
//    timeout asked of ZooKeeper is max(config.session_timeout_ms, 30000)
//    (the server caps it at 40 s): no session of a comparable scenario
//    expires, so the value is observable only in that the C client drops a
//    connection after 2/3 of it without a word from the server, which a
//    loaded machine must not provoke. Sessions still open at the end are
//    closed without a history line, and the run waits until their
//    ephemerals are gone (so a later run on the same server does not see
//    them).
//  - Waiting is bounded and generous for loaded machines: 60 s to connect a
//    session, for an answer, for a barrier and for a close to take effect.
//    A request that is not oversized (see docs/zookeeper-facts.md) but
//    answers ConnectionLoss or OperationTimeout means ZooKeeper or this
//    process stalled: the run fails with that message instead of recording
//    an answer ZooKeeper did not give.
//  - Every operation is issued asynchronously and its answer is taken from
//    the completion callback, which the C client runs on the same thread and
//    in the same order as watcher callbacks. Hence "watch events delivered to
//    the acting session before its answer" is exact (ZooKeeper sends a
//    session the notifications a write causes before that write's reply).
//  - After each step, every still-open session does an async sync("/") and
//    then an async exists("/") and waits for its completion; ZooKeeper's
//    in-order delivery guarantees that all watch events caused by the step
//    have then been delivered, provided the server applied the step's
//    transaction before it read the sync. For operations that holds (their
//    answer came first). zookeeper_close() does not wait for the server:
//    it writes the close request to the socket and returns, and the server
//    may read another connection's sync first. So a "close" step first waits
//    (polling exists() without a watch from the first open session, or from a
//    temporary session if none is open) until every ephemeral node the
//    closed session created (as its create answers told: path and czxid) is
//    missing or was re-created with another czxid; ZooKeeper deletes them in
//    the closeSession transaction, the only effect of a close other sessions
//    can observe. Before closing, the runner waits until the handle is
//    connected, because the C client sends no close request otherwise.
//
// History lines (JSON objects), `t` = microseconds since the run started
// (steady clock, made non-decreasing; comparisons ignore it):
//  invoke: {"kind":"invoke","id":N,"session":S,"op":OP, plus the step's
//           "path","data","data_b64","flags","version","watch" when its
//           scenario file wrote them (Scenario::source); for a scenario
//           without a source, the fields of invocation_fields()}
//          `id` counts invocations from 1; {"wait_ms":N} is not an invocation
//          and has no line.
//  ok:     {"kind":"ok","id":N,"session":S, ...result} where the result is
//          create: "path" (actual name) and "stat" (from create2);
//          get_data: "data" (valid UTF-8) or "data_b64", and "stat";
//          exists: "stat" (object or null); get_children: "children"
//          (sorted bytewise) and the parent's "stat"; set_data: "stat";
//          delete, close: nothing.
//  error:  {"kind":"error","id":N,"session":S,"error":NAME} with ZooKeeper's
//          error name (zookeeper_error_name()).
//  watch:  {"kind":"watch","session":S,"event":E,"path":P}. One line per fired
//          watcher: each step with "watch": true registers its own watcher
//          (own context), so e.g. a get_data and an exists watch on one node
//          give two NodeDataChanged lines for one change. ZooKeeper's watch
//          events carry no zxid, so there is no "zxid" field.
//  stat:   czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion,
//          ephemeralOwner (the owning session's scenario name, null for 0, or
//          "0x..." for a session that is not the scenario's), dataLength,
//          numChildren.
//
// CANONICAL ORDER of the lines of one sequential step (fkemu's runner must
// produce the same):
//   1. the invoke line;
//   2. the watch events delivered to the acting session before its answer,
//      in delivery order;
//   3. the answer (ok or error);
//   4. the watch events delivered to the acting session after its answer and
//      caused by the step (normally none), in delivery order;
//   5. for every OTHER session, in the order of "sessions", the watch events
//      it received as a consequence of the step, in its delivery order.
// For a {"wait_ms": N} step only 5 applies, to all sessions in order.
//
// Conventions where the C client cannot express a step:
//  - {"wait_ms": N} sleeps min(N, 2000) ms of real time (sessions are kept
//    alive by the client; a close already removed ephemerals on ZooKeeper).
//  - An operation on a session closed by an earlier "close" answers
//    SessionExpired without contacting the server (what the Java client
//    answers after close()), once the C client's own path check passed
//    (else BadArguments: the Java client checks the path first too); "close"
//    of a closed session answers ok.
//  - A path containing a NUL character answers BadArguments without
//    contacting the server (the C API takes NUL-terminated strings).
//  - Every other invalid path is passed to the C client, which answers
//    BadArguments itself or sends it to the server (see
//    docs/zookeeper-facts.md).
//  - "expire" cannot be caused on ZooKeeper: such a scenario is refused as
//    not comparable (the run fails with BadArguments, nothing is contacted).
//    So is any mode other than "sequential".

#ifndef FKEMU_HARNESS_ZOOKEEPER_RUNNER_H_
#define FKEMU_HARNESS_ZOOKEEPER_RUNNER_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "harness/scenario.h"

namespace fkemu::zkref {

struct ZkRunResult {
  // Ok when the whole scenario ran. BadArguments when it is not comparable
  // (scenario_comparable_with_zookeeper); when ZooKeeper or this process
  // failed, the code that fits best (ConnectionLoss, OperationTimeout,
  // SessionExpired, SystemError) and a message naming the step.
  Status status;
  std::vector<nlohmann::json> history;  // as far as it got
};

// Runs `scenario` against the ZooKeeper server at host_port ("HOST:PORT").
// A scenario that is not comparable is refused before any session is opened.
// Errors answered by ZooKeeper are history lines, not run errors.
ZkRunResult run_scenario_on_zookeeper(const Scenario& scenario, const std::string& host_port);

// Deletes every node of the server at host_port but "/" and its /zookeeper subtree, so that
// another scenario can run there. What stays is the root's counters (its cversion and
// sequential counter) and the zxids: a scenario that reads neither "/" nor creates sequential
// nodes directly under it cannot tell the server from a fresh one (relative zxids aside).
Status clear_zookeeper_tree(const std::string& host_port);

// BadArguments, saying why, when the scenario cannot be compared with
// ZooKeeper: a mode other than "sequential", or an "expire" step.
Status scenario_comparable_with_zookeeper(const Scenario& scenario);

// ZooKeeper's name for a C-client return code, e.g. ZNONODE -> "NoNode",
// ZBADARGUMENTS -> "BadArguments"; "ZooKeeperError(<rc>)" if unknown.
std::string zookeeper_error_name(int rc);

}  // namespace fkemu::zkref

#endif  // FKEMU_HARNESS_ZOOKEEPER_RUNNER_H_
