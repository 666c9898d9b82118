#include "emulator/memory_object_store.h"

#include <algorithm>
#include <stdexcept>

#include "core/json/json_text.h"

namespace fkemu {

Status MemoryObjectStore::put(const std::string& key, Value object) {
  auto [it, inserted] = objects_.insert_or_assign(key, Stored{std::move(object), ++generation_});
  if (journal_) record(key, &it->second);
  return Status::ok();
}

StoredObject MemoryObjectStore::get(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return it->second.object;
}

std::optional<TaggedObject> MemoryObjectStore::get_tagged(const std::string& key) const {
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  return TaggedObject{it->second.object, std::to_string(it->second.generation)};
}

Status MemoryObjectStore::put_if(const std::string& key, Value object, const std::string& etag) {
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

std::vector<std::pair<std::string, StoredObject>> MemoryObjectStore::list() const {
  std::vector<std::pair<std::string, StoredObject>> out;
  out.reserve(objects_.size());
  for (const auto& [key, stored] : objects_) out.emplace_back(key, stored.object);
  return out;
}

// A row: the object in the binary encoding of values, then the generation, as CBOR.
void MemoryObjectStore::record(const std::string& key, const Stored* stored) {
  if (!stored) return journal_->record(space_, key, std::nullopt);
  const std::string encoded = stored->object.encode();
  const std::vector<uint8_t> cbor = nlohmann::json::to_cbor(nlohmann::json{
      {"o", nlohmann::json::binary(std::vector<uint8_t>(encoded.begin(), encoded.end()))},
      {"g", stored->generation}});
  journal_->record(space_, key, std::string(cbor.begin(), cbor.end()));
}

void MemoryObjectStore::record_all() {
  if (!journal_) return;
  for (const auto& [key, stored] : objects_) record(key, &stored);
}

void MemoryObjectStore::restore(const std::string& key, const std::string& value) {
  const nlohmann::json j = parse_cbor_or_throw(value, "the stored object");
  const uint64_t g = j.at("g").get<uint64_t>();
  const auto& encoded = j.at("o").get_binary();
  auto object = Value::decode(
      std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
  if (!object.is_ok()) throw std::invalid_argument("the object: " + object.status().message());
  generation_ = std::max(generation_, g);
  objects_.insert_or_assign(key, Stored{std::move(*object), g});
}

}  // namespace fkemu
