// The order in which ZooKeeper 3.8 deletes a closing session's ephemeral nodes.
//
// ZooKeeper keeps a session's ephemerals in a java.util.HashSet and deletes them in the
// iteration order of a clone of it. That order is observable (other sessions' watch events
// arrive in it), so fkemu reproduces it (measured: docs/zookeeper-facts.md, "Close"):
//   key(p)   = h ^ (h >>> 16), h = String.hashCode(p) over UTF-16 code units
//   capOrig  = 16, doubled while the session's peak ephemeral count exceeded 0.75 * capOrig
//   capClone = smallest power of two >= (int)(n / 0.75 + 1), n = ephemerals at close
//   order    = by key & (capClone - 1), then key & (capOrig - 1), then creation order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fkemu {

int32_t java_string_hash(std::string_view utf8);

// `live` in creation order; `peak` = the most ephemerals the session held at once (fkemu
// counts the distinct ephemerals the session ever created, which is the same unless it deleted
// some of them before closing and had more than 12).
std::vector<std::string> zookeeper_close_order(const std::vector<std::string>& live, size_t peak);

}  // namespace fkemu
