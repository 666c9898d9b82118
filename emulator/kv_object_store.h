// KvObjectStore: the user store kept in a key-value table instead of an object store
// (scenario config "user_store": "kv", as FaaSKeeper's DynamoDB user-storage variant). Each
// object is one item {doc: <object>, tag: n} of table "user" in the given KvStore; reads are
// strongly consistent, as the KV store's are. The tag counts the item's puts; a conditional put
// is a conditional KV write on it. (A removed
// object's tag starts again from 1; the protocol never removes user-store objects.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/services/kv_store.h"
#include "core/services/object_store.h"

namespace fkemu {

class KvObjectStore final : public ObjectStore {
 public:
  explicit KvObjectStore(KvStore& kv, std::string table = "user")
      : kv_(kv), table_(std::move(table)) {}

  Status put(const std::string& key, Value object) override {
    KvWrite w;
    w.table = table_;
    w.key = key;
    w.updates = {Update::set("doc", std::move(object)), Update::add("tag", 1)};
    return kv_.write(w).status;
  }
  StoredObject get(const std::string& key) const override {
    auto item = kv_.get(table_, key);
    if (!item) return std::nullopt;
    return document(*item);
  }
  std::optional<TaggedObject> get_tagged(const std::string& key) const override {
    auto item = kv_.get(table_, key);
    if (!item) return std::nullopt;
    return TaggedObject{document(*item), std::to_string(item->number_or("tag", 0))};
  }
  Status put_if(const std::string& key, Value object, const std::string& etag) override {
    KvWrite w;
    w.table = table_;
    w.key = key;
    if (etag.empty()) {
      w.conditions.push_back(Condition::not_exists("doc"));
    } else {
      int64_t tag = 0;
      try {
        tag = std::stoll(etag);
      } catch (...) {
        return Status(Code::ConditionFailed, "object " + key + " does not have tag " + etag);
      }
      w.conditions.push_back(Condition::eq("tag", tag));
    }
    w.updates = {Update::set("doc", std::move(object)), Update::add("tag", 1)};
    return kv_.write(w).status;
  }
  Status remove(const std::string& key) override {
    KvWrite w;
    w.table = table_;
    w.key = key;
    w.kind = KvWrite::Kind::Delete;
    w.conditions = {Condition::exists("doc")};
    const KvResult r = kv_.write(w);
    if (r.status.code() == Code::ConditionFailed) return Status(Code::NotFound, "no object " + key);
    return r.status;
  }
  std::vector<std::pair<std::string, StoredObject>> list() const override {
    std::vector<std::pair<std::string, StoredObject>> out;
    for (auto& [key, item] : kv_.scan(table_)) out.emplace_back(key, document(item));
    return out;
  }

 private:
  // The object an item holds (a copy that shares its maps and bytes).
  static Value document(const Item& item) { return item.at("doc"); }
  KvStore& kv_;
  std::string table_;
};

}  // namespace fkemu
