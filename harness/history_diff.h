// Compares a history recorded on Apache ZooKeeper (zookeeper_runner.h) with
// fkemu's history of the same scenario, after canonicalizing both.
//
// Canonical form (applied to each history separately):
//  - `t` is dropped from every line, `ctime` and `mtime` from every stat;
//  - invoke lines keep only kind, id, session, op and path: the arguments
//    are inputs that runners echo differently (data vs data_b64, defaults
//    written out or not); the answers show whether they were understood;
//  - the watch-event `zxid` is dropped from both histories if any watch line
//    of either history lacks it (ZooKeeper's never carry one);
//  - every zxid value (stat czxid, mzxid, pzxid and any remaining watch
//    `zxid`) is replaced by its rank (0, 1, 2, ...) among all distinct zxid
//    values of that history together, so only relative order and equality
//    are compared (pzxid may show zxids not seen elsewhere; that is fine).
// Then the lines are paired up (longest common subsequence of the lines'
// identities: invoke = session+op+path, answer = session, watch =
// session+event+path; by position for histories over 2000x2000 lines) and
// each pair is compared field by field. Each difference is one readable
// string naming the 1-based line of ZooKeeper's history (plus fkemu's line
// when it differs), the invocation (id, session, op and path, looked up from
// the invoke line) and the field, e.g.
//   "line 7 (id 4, session b, get_data /a): stat.version: zookeeper 1, fkemu 0"
//   "line 9 (watch, session b, NodeDeleted /a): missing in fkemu: {...}"
//   "fkemu line 9 (watch, session b, NodeCreated /a): extra in fkemu: {...}"
//   "line 12 [fkemu 11] (id 6, session a, close): kind: zookeeper ..."
// At most 100 differences are listed; a final line says how many more.
// No ZooKeeper dependency.

#ifndef FKEMU_HARNESS_HISTORY_DIFF_H_
#define FKEMU_HARNESS_HISTORY_DIFF_H_

#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fkemu::zkref {

// Empty when equal after canonicalization. `expected` is ZooKeeper's
// history, `actual` fkemu's.
std::vector<std::string> diff_histories(const std::vector<nlohmann::json>& expected,
                                        const std::vector<nlohmann::json>& actual);

// The canonical form described above, of one history; `drop_watch_zxid`
// removes the `zxid` of watch lines before ranking.
std::vector<nlohmann::json> canonicalize_history(const std::vector<nlohmann::json>& history,
                                                 bool drop_watch_zxid);

// Reads JSON Lines (blank lines skipped). Throws std::runtime_error naming
// the line number on a line that is not valid JSON.
std::vector<nlohmann::json> read_history_jsonl(std::istream& in);

}  // namespace fkemu::zkref

#endif  // FKEMU_HARNESS_HISTORY_DIFF_H_
