// The history checker: judges a recorded history (docs/scenarios.md) against ZooKeeper's
// guarantees G1-G10 (listed below) and names every violation it finds.
//
// It needs no search: every committed write carries its zxid, so the writes are sorted by zxid
// and replayed through ZooKeeperModel (harness/zookeeper_model.h), which gives each node's
// state at every zxid. Every read is then matched to the model states it can be, every watch
// registration is set at the state its read saw, and the rest are order checks. O(n log n) in
// the size of the history (a failed write looks at no more than 64 states; a get_children
// answer costs one lookup per child it lists).
//
// What each guarantee checks:
//   G1  the model accepts every committed write, in zxid order, and answers it as the client
//       was answered (created path, stat); a write answered before another was invoked has the
//       smaller zxid; an error answer (NoNode, NodeExists, NotEmpty, BadVersion,
//       NoChildrenForEphemerals, BadArguments) is what the model answers at some state between
//       the writes answered before the invoke and the writes invoked before the answer;
//       committed zxids are unique and every ok write names its zxid. A multi is one write: the
//       model applies its operations at its zxid and answers its results; refused, the model
//       refuses it with the same error at the same operation (failed_op). A "service" line (a
//       container the service deleted) must delete an empty container that has had children.
//   G2  per session, answers arrive in invocation order and write zxids grow in that order.
//   G3  per session and node, a read never shows that node older than the session saw it
//       (its reads, its acknowledged writes, its watch events on it).
//   G4  a read's result is the model's state of that node at some zxid z with
//       last seen zxid of the session <= z <= the newest zxid whose writes (and all before it)
//       were invoked before the read was answered; the result matches that state exactly.
//   G5  a session records a watch event before any answer that reflects the triggering zxid
//       or a later one (a write with that zxid or later, a read of a state that began then or
//       later); a session's events come in non-decreasing zxid order.
//   G6  every registration (a read with watch:true answered ok; exists also on a missing node)
//       fires at most once, with the event type the model fires for the first triggering
//       change after the state the read saw, never for an earlier zxid, and never after the
//       session's close; every event line belongs to such a registration and names a committed
//       write invoked before it; a session that stays open to the end (no close, expire or
//       SessionExpired) has received the event of every registration whose change committed,
//       and one that ends by a close it was answered, of every change before that close.
//       The event line may come before its read's answer (the client fires it itself).
//       A persistent watch (add_watch, at its answer's zxid) owes its session an event for
//       every matching change after it and none before (G6), each before any later answer of
//       the session that reflects that change (G5).
//   G8  after a session's close (answered or inferred from an expiry), the model deletes its
//       ephemerals at the close's zxid; no read invoked after the close answer (or later than
//       expire + timeout + 2 heartbeat periods) shows the tree as before that close; later ops
//       of the session answer SessionExpired (client-side BadArguments and MarshallingError
//       aside), as do ops after a SessionExpired answer or after that expiry deadline; no answer
//       of the session shows a state at or after its close; nothing of it commits after it.
//   G9  a sequential create's name is the requested prefix + %010d of the model's child-create
//       count of the parent; names are unique and increasing per parent node.
//   G10 every invocation is answered.
// G7 (store agreement at quiescence) is not visible in a history: the scenario runner judges it.
// A session silenced by an injected fault (SilentStop) is judged as an expire step then. The
// expiry deadline of G8 (expire + session timeout + 2 heartbeat periods) is stretched by the
// injected faults in effect then (FaultWindow): a distributor that died holds every update,
// the close of an expired session included, for a visibility timeout.
//
// Sessions closed by the heartbeat (an `expire` step, or a SessionExpired answer nobody
// asked for) have no answer with a zxid: their close is inferred, from a zxid that lines show
// but no answer names (watch events, stats; the owner of the ephemerals it deleted), else
// placed at the first zxid no write uses (fkemu's zxids are consecutive queue sequence
// numbers). Histories whose writes carry no zxid (ZooKeeper's own) are not supported: an ok
// delete without one is reported, and creates and sets take theirs from their stat.
//
// A violation is reported once where it shows; a history with one thing wrong may show it
// under more than one guarantee (a swapped zxid breaks G1's order and G2's).
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/scenario.h"

namespace fkemu {

struct Violation {
  std::string guarantee;  // "G1".."G10"
  std::string message;
  std::vector<std::string> sessions;
  std::vector<int64_t> ids;    // invocation ids involved
  std::vector<int64_t> zxids;  // zxids involved
  // The history lines that show it: the offending lines and the lines they conflict with, in
  // history order.
  std::vector<nlohmann::json> excerpt;
};

// A session that stopped answering heartbeats at virtual time t (microseconds, as the
// history's "t") without a step saying so: an injected fault (session.unresponsive). The
// history does not show it; the checker judges it as an expire step at that time.
struct SilentStop {
  std::string session;
  int64_t t = 0;
};

// An injected fault at virtual time t (microseconds) that can hold the close of an expired
// session up for at most `bound` microseconds (a killed instance's batch waits for its
// visibility timeout, a stalled one holds its locks 8 s: fault_delay_bound). The time bounds of
// G8 (the expiry deadline, and when an expiry counts as certain) stretch by the bounds of the
// faults in effect while they run; no other rule depends on faults.
struct FaultWindow {
  int64_t t = 0;
  int64_t bound = 0;
};

std::vector<Violation> check_history(const Scenario& sc, const std::vector<nlohmann::json>& history,
                                     const std::vector<SilentStop>& silent = {},
                                     const std::vector<FaultWindow>& faults = {});

// "G4 session b (ids 7) zxids 5: message" and the excerpt lines, for reports.
std::string violation_to_string(const Violation& v);

}  // namespace fkemu
