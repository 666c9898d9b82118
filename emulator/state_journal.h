// StateJournal: where the service fakes report every change of their state, for fkemu serve
// --data FILE (SqliteState). A change is (space, key, value): a space per store and table
// ("kv/system/nodes", "objects/user", "queue/writer/m", ...), the value an opaque encoding
// (CBOR of the item), or none for an erase. The journal makes them durable in batches; the
// fakes restore themselves from what it loaded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fkemu {

class StateJournal {
 public:
  virtual ~StateJournal() = default;
  virtual void record(std::string_view space, std::string_view key,
                      std::optional<std::string> value) = 0;
};

}  // namespace fkemu
