// KvObjectStore: the user store kept in a key-value table instead of an object store
// (scenario config "user_store": "kv", as FaaSKeeper's DynamoDB user-storage variant). Each
// object is one item {doc: <object>} of table "user" in the given KvStore; reads are strongly
// consistent, as the KV store's are.
#pragma once

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

  void put(const std::string& key, nlohmann::json object) override {
    KvWrite w;
    w.table = table_;
    w.key = key;
    w.kind = KvWrite::Kind::Put;
    w.item = nlohmann::json{{"doc", std::move(object)}};
    (void)kv_.write(w);
  }
  std::optional<nlohmann::json> get(const std::string& key) const override {
    auto item = kv_.get(table_, key);
    if (!item) return std::nullopt;
    return item->at("doc");
  }
  bool remove(const std::string& key) override {
    const bool existed = kv_.get(table_, key).has_value();
    KvWrite w;
    w.table = table_;
    w.key = key;
    w.kind = KvWrite::Kind::Delete;
    (void)kv_.write(w);
    return existed;
  }
  std::vector<std::pair<std::string, nlohmann::json>> list() const override {
    std::vector<std::pair<std::string, nlohmann::json>> out;
    for (auto& [key, item] : kv_.scan(table_)) out.emplace_back(key, item.at("doc"));
    return out;
  }

 private:
  KvStore& kv_;
  std::string table_;
};

}  // namespace fkemu
