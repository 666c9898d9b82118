// ObjectStore: the interface of an S3-like object store with strong read-after-write
// consistency. Objects are typed values (core/services/value.h), immutable once stored: a get
// hands out the stored object itself, shared, never a copy of it (a node's data is read without
// a copy). A durable implementation serializes them.
//
// Conditional writes, as S3 has them since 2024: every stored object has an entity tag that
// changes with every put; put_if writes only if the object still has the given tag (If-Match),
// or, with an empty tag, only if there is no object (If-None-Match: *).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/services/value.h"
#include "core/status.h"

namespace fkemu {

// An object as stored: the Value itself (a copy shares its lists, maps and bytes, so handing it
// out costs a reference count, as a shared pointer to it did, without a block of its own per
// object); none: no object.
using StoredObject = std::optional<Value>;

struct TaggedObject {
  StoredObject object;  // never empty
  std::string etag;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status put(const std::string& key, Value object) = 0;
  virtual StoredObject get(const std::string& key) const = 0;
  virtual std::optional<TaggedObject> get_tagged(const std::string& key) const = 0;
  // ConditionFailed (HTTP 412) if the object's tag is not `etag` (or, for an empty etag, if it
  // exists); nothing is written then.
  virtual Status put_if(const std::string& key, Value object, const std::string& etag) = 0;
  virtual Status remove(const std::string& key) = 0;  // NotFound if absent
  // Not a service call: the size of the object's "data" (0 if absent or unknown), which the
  // latency model keys a read by.
  size_t data_bytes(const std::string& key) const {
    const StoredObject o = get(key);
    return o && o->at("data").is_bytes() ? o->at("data").as_bytes().size() : 0;
  }
  // Every object, ordered by key; side-effect free.
  virtual std::vector<std::pair<std::string, StoredObject>> list() const = 0;
};

}  // namespace fkemu
