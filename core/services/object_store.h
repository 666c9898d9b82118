// ObjectStore: the interface of an S3-like object store with strong read-after-write
// consistency. Objects are JSON documents (binary data inside them as JSON binary values); a
// durable implementation serializes them. Calls are applied atomically.
//
// Conditional writes, as S3 has them since 2024: every stored object has an entity tag that
// changes with every put; put_if writes only if the object still has the given tag (If-Match),
// or, with an empty tag, only if there is no object (If-None-Match: *).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fkemu {

struct TaggedObject {
  nlohmann::json object;
  std::string etag;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status put(const std::string& key, nlohmann::json object) = 0;
  virtual std::optional<nlohmann::json> get(const std::string& key) const = 0;
  virtual std::optional<TaggedObject> get_tagged(const std::string& key) const = 0;
  // ConditionFailed (HTTP 412) if the object's tag is not `etag` (or, for an empty etag, if it
  // exists); nothing is written then.
  virtual Status put_if(const std::string& key, nlohmann::json object, const std::string& etag) = 0;
  virtual Status remove(const std::string& key) = 0;  // NotFound if absent
  // Not a service call: the size of the object's "data" (0 if absent or unknown), which the
  // latency model keys a read by. Implementations that cannot tell cheaply answer 0.
  virtual size_t data_bytes(const std::string& key) const {
    (void)key;
    return 0;
  }
  // Every object, ordered by key; side-effect free.
  virtual std::vector<std::pair<std::string, nlohmann::json>> list() const = 0;
};

}  // namespace fkemu
