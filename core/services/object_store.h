// ObjectStore: the interface of an S3-like object store with strong read-after-write
// consistency. Objects are JSON documents (binary data inside them as JSON binary values); a
// durable implementation serializes them. Calls are applied atomically.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fkemu {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual void put(const std::string& key, nlohmann::json object) = 0;
  virtual std::optional<nlohmann::json> get(const std::string& key) const = 0;
  virtual bool remove(const std::string& key) = 0;  // false if absent
  // Every object, ordered by key; side-effect free.
  virtual std::vector<std::pair<std::string, nlohmann::json>> list() const = 0;
};

}  // namespace fkemu
