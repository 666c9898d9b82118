#include "emulator/memory_object_store.h"

namespace fkemu {

void MemoryObjectStore::put(const std::string& key, nlohmann::json object) {
  objects_.insert_or_assign(key, std::move(object));
}

std::optional<nlohmann::json> MemoryObjectStore::get(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

bool MemoryObjectStore::remove(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return false;
  objects_.erase(it);
  return true;
}

std::vector<std::pair<std::string, nlohmann::json>> MemoryObjectStore::list() const {
  return {objects_.begin(), objects_.end()};
}

}  // namespace fkemu
