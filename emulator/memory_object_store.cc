#include "emulator/memory_object_store.h"

#include <algorithm>

#include "core/json/json_text.h"

namespace fkemu {

Status MemoryObjectStore::put(const std::string& key, nlohmann::json object) {
  auto [it, inserted] = objects_.insert_or_assign(key, Stored{std::move(object), ++generation_});
  if (journal_) record(key, &it->second);
  return Status::ok();
}

std::optional<nlohmann::json> MemoryObjectStore::get(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second.object;
}

size_t MemoryObjectStore::data_bytes(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end() || !it->second.object.is_object()) return 0;
  auto data = it->second.object.find("data");
  return data != it->second.object.end() && data->is_binary() ? data->get_binary().size() : 0;
}

std::optional<TaggedObject> MemoryObjectStore::get_tagged(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return TaggedObject{it->second.object, std::to_string(it->second.generation)};
}

Status MemoryObjectStore::put_if(const std::string& key, nlohmann::json object,
                                 const std::string& etag) {
  auto it = objects_.find(key);
  const bool matches = etag.empty()
                           ? it == objects_.end()
                           : it != objects_.end() && std::to_string(it->second.generation) == etag;
  if (!matches)
    return Status(Code::ConditionFailed,
                  "object " + key + (etag.empty() ? " exists" : " does not have tag " + etag));
  return put(key, std::move(object));
}

Status MemoryObjectStore::remove(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status(Code::NotFound, "no object " + key);
  objects_.erase(it);
  if (journal_) record(key, nullptr);
  return Status::ok();
}

std::vector<std::pair<std::string, nlohmann::json>> MemoryObjectStore::list() const {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  out.reserve(objects_.size());
  for (const auto& [key, stored] : objects_) out.emplace_back(key, stored.object);
  return out;
}

void MemoryObjectStore::record(const std::string& key, const Stored* stored) {
  if (!stored) return journal_->record(space_, key, std::nullopt);
  const std::vector<uint8_t> cbor =
      nlohmann::json::to_cbor(nlohmann::json{{"o", stored->object}, {"g", stored->generation}});
  journal_->record(space_, key, std::string(cbor.begin(), cbor.end()));
}

void MemoryObjectStore::record_all() {
  if (!journal_) return;
  for (const auto& [key, stored] : objects_) record(key, &stored);
}

void MemoryObjectStore::restore(const std::string& key, const std::string& value) {
  nlohmann::json j = parse_cbor_or_throw(value, "the stored object");
  const uint64_t g = j.at("g").get<uint64_t>();
  generation_ = std::max(generation_, g);
  objects_.insert_or_assign(key, Stored{std::move(j.at("o")), g});
}

}  // namespace fkemu
