#include "emulator/memory_object_store.h"

namespace fkemu {

void MemoryObjectStore::put(const std::string& key, nlohmann::json object) {
  objects_.insert_or_assign(key, Stored{std::move(object), ++generation_});
}

std::optional<nlohmann::json> MemoryObjectStore::get(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second.object;
}

std::optional<TaggedObject> MemoryObjectStore::get_tagged(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return TaggedObject{it->second.object, std::to_string(it->second.generation)};
}

bool MemoryObjectStore::put_if(const std::string& key, nlohmann::json object,
                               const std::string& etag) {
  auto it = objects_.find(key);
  const bool matches = etag.empty()
                           ? it == objects_.end()
                           : it != objects_.end() && std::to_string(it->second.generation) == etag;
  if (!matches) return false;
  put(key, std::move(object));
  return true;
}

bool MemoryObjectStore::remove(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return false;
  objects_.erase(it);
  return true;
}

std::vector<std::pair<std::string, nlohmann::json>> MemoryObjectStore::list() const {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  out.reserve(objects_.size());
  for (const auto& [key, stored] : objects_) out.emplace_back(key, stored.object);
  return out;
}

}  // namespace fkemu
