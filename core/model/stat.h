// Stat: ZooKeeper's node metadata, with every field ZooKeeper reports.
//
// Field evolution (as ZooKeeper 3.8 does it; see docs/zookeeper-facts.md):
//   create   node: czxid = mzxid = pzxid = zxid, ctime = mtime = now, versions 0
//            parent: cversion += 1, pzxid = zxid, numChildren += 1
//   delete   parent: cversion += 1, pzxid = zxid, numChildren -= 1
//   set_data node: mzxid = zxid, mtime = now, version += 1, dataLength = size
// Times are milliseconds of the run's clock.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/services/value.h"

namespace fkemu {

struct Stat {
  int64_t czxid = 0;
  int64_t mzxid = 0;
  int64_t pzxid = 0;
  int64_t ctime = 0;
  int64_t mtime = 0;
  int32_t version = 0;
  int32_t cversion = 0;
  int32_t aversion = 0;
  std::optional<std::string> ephemeral_owner;  // session name
  int32_t data_length = 0;
  int32_t num_children = 0;
  // A TTL node's time to live in milliseconds; 0 for every other node. (ZooKeeper keeps it in
  // its stored ephemeralOwner, 0xff00000000000000 | ttl, and shows its clients 0 there.)
  int64_t ttl_ms = 0;

  bool operator==(const Stat&) const = default;
};

// As a typed attribute value: bytes in one packed layout (decision 41), about 20 bytes where
// a map of eleven named numbers took some 800, and shared, not copied, when the value is.
// Reading anything but a whole packed stat (another type, another layout, cut off, bytes
// beyond its end) throws std::invalid_argument naming the damage.
Value stat_to_value(const Stat& s);
Stat stat_from_value(const Value& v);
// The packed layout itself, for a record that embeds a stat in its own packed layout.
void append_packed_stat(std::string& out, const Stat& s);
Stat read_packed_stat(std::string_view packed);
// The JSON object of histories and dumps (fields named as in docs/scenarios.md;
// "ephemeralOwner": session name or null; "ttl_ms" only for a TTL node); std::invalid_argument
// names a field of the wrong type. Absent fields read as 0.
nlohmann::json stat_to_json(const Stat& s);
Stat stat_from_json(const nlohmann::json& j);

}  // namespace fkemu
