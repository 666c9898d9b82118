// MemoryObjectStore: an in-memory S3-like store, the reference implementation of ObjectStore.
//
// Guarantees: strong read-after-write consistency (a get sees the last put or remove before it),
// put replaces an object whole, every put gives the object a new entity tag, list is ordered
// by key. Objects are kept as given (no
// serialization). Not thread-safe; like every service fake it is driven by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/services/object_store.h"
#include "emulator/state_journal.h"

namespace fkemu {

class MemoryObjectStore final : public ObjectStore {
 public:
  MemoryObjectStore() = default;
  MemoryObjectStore(const MemoryObjectStore&) = delete;
  MemoryObjectStore& operator=(const MemoryObjectStore&) = delete;

  Status put(const std::string& key, Value object) override;
  StoredObject get(const std::string& key) const override;
  std::optional<TaggedObject> get_tagged(const std::string& key) const override;
  Status put_if(const std::string& key, Value object, const std::string& etag) override;
  Status remove(const std::string& key) override;
  std::vector<std::pair<std::string, StoredObject>> list() const override;

  // Durable state: from now on every change is recorded in `j`, space "objects/<name>".
  void attach_journal(StateJournal* j, std::string name) {
    journal_ = j;
    space_ = "objects/" + std::move(name);
  }
  const std::string& journal_space() const { return space_; }
  void record_all();
  // Restoring from a journal: one object, as recorded; clear() empties the store first.
  void restore(const std::string& key, const std::string& value);
  void clear() { objects_.clear(); }

 private:
  struct Stored {
    Value object;
    uint64_t generation;  // the entity tag: a store-wide counter, so a tag is never reused
  };
  void record(const std::string& key, const Stored* stored);

  std::map<std::string, Stored, std::less<>> objects_;
  uint64_t generation_ = 0;
  StateJournal* journal_ = nullptr;
  std::string space_;
};

}  // namespace fkemu
