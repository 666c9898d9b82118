// MemoryKvStore: an in-memory DynamoDB-like store, the reference implementation of KvStore.
//
// Guarantees, on top of those KvStore states:
//   * tables are created implicitly by the first write; get and scan of an unknown table see
//     nothing; every read sees every write applied before it;
//   * conditions are evaluated on the item as it is (an absent item has every attribute absent):
//     Equals/NotEquals use JSON equality and NotEquals holds on an absent attribute; the order
//     comparisons compare numbers numerically and strings lexically (bytewise) and fail on an
//     absent attribute or on any other pair of types; AbsentOrLess holds on an absent attribute
//     and otherwise compares like Less;
//   * updates apply in their order to the item (an Update on an absent item creates it, with no
//     key attribute added): Add counts an absent attribute as 0 and fails on a non-number, on a
//     non-number operand or on 64-bit overflow; ListAppend needs an array and counts an absent
//     list as []; ListRemoveHead on an absent or empty list does nothing; a failing update fails
//     the write (failed_condition is then -1);
//   * a transaction validates every write against the state before it and then applies all of
//     them, or none; two writes on the same (table, key) are refused, as DynamoDB does;
//   * on failure, `reason` names the write, table, key, attribute and condition, and old_item is
//     the failing write's item if it asked for return_old and the item exists;
//   * empty table names, keys and attribute names are refused; a Put item must be an object.
// Not thread-safe; like every service fake it is driven by one thread (Executor::call).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/services/kv_store.h"
#include "emulator/state_journal.h"

namespace fkemu {

class MemoryKvStore final : public KvStore {
 public:
  MemoryKvStore() = default;
  MemoryKvStore(const MemoryKvStore&) = delete;
  MemoryKvStore& operator=(const MemoryKvStore&) = delete;

  std::optional<Item> get(const std::string& table, const std::string& key) const override;
  KvResult write(const KvWrite& w) override;
  KvResult transact(const std::vector<KvWrite>& writes) override;
  std::vector<std::pair<std::string, Item>> scan(const std::string& table) const override;

  // Durable state: from now on every change is recorded in `j`, space "kv/<name>/<table>".
  void attach_journal(StateJournal* j, std::string name);
  // Records every item (a new state file starts with the whole state).
  void record_all();
  // Restoring from a journal: one item, as recorded; clear() empties the store first.
  void restore(const std::string& table, const std::string& key, const std::string& value);
  void clear() { tables_.clear(); }
  const std::string& journal_name() const { return journal_name_; }

 private:
  using Table = std::map<std::string, Item, std::less<>>;
  // What a validated write will do: store the item (`after`, or the existing item with the
  // write's updates applied in place), delete it, or nothing.
  struct Effect {
    const KvWrite* write = nullptr;
    enum class Action { Store, Erase, None } action = Action::None;
    bool in_place = false;
    Item after;
  };

  const Item* find(const std::string& table, const std::string& key) const;
  // Validates `w` (the `index`-th write; -1 for a single write) against the current state and
  // computes its effect. On failure fills `failure` and returns nullopt.
  std::optional<Effect> prepare(const KvWrite& w, int index, KvResult& failure) const;
  void apply(Effect&& e);

  void record(const std::string& table, const std::string& key, const Item* item);

  std::map<std::string, Table, std::less<>> tables_;
  StateJournal* journal_ = nullptr;
  std::string journal_name_;
};

}  // namespace fkemu
