// KvStore: the interface of a strongly consistent key-value store with conditional updates and
// transactions (DynamoDB-like), as the protocol uses it.
//
// Items are map Values (core/services/value.h) keyed by (table, key). Guarantees:
//   * get is strongly consistent (sees every write applied before it);
//   * a write applies its updates only if all its conditions hold, atomically;
//   * a transaction applies all its writes or none; on failure it names the write and the
//     condition that failed, and (if asked) returns the item as it was;
//   * list append / remove-head and atomic add are single updates.
// Calls are applied atomically; the protocol wraps each one in Executor::call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/services/value.h"
#include "core/status.h"

namespace fkemu {

using Item = Value;  // a map

struct Condition {
  // AbsentOrLess: the attribute is absent or (numerically) less than value; a timelock's
  // "free or expired" test in one condition, as DynamoDB's attribute_not_exists(a) OR a < :v.
  enum class Kind {
    Exists,
    NotExists,
    Equals,
    NotEquals,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    AbsentOrLess
  };
  std::string attr;
  Kind kind = Kind::Exists;
  Value value;  // for comparisons; numbers compare numerically, strings and bytes byte-wise

  static Condition exists(std::string a) { return {std::move(a), Kind::Exists, Value()}; }
  static Condition not_exists(std::string a) { return {std::move(a), Kind::NotExists, Value()}; }
  static Condition eq(std::string a, Value v) { return {std::move(a), Kind::Equals, std::move(v)}; }
  static Condition ne(std::string a, Value v) {
    return {std::move(a), Kind::NotEquals, std::move(v)};
  }
  static Condition lt(std::string a, Value v) { return {std::move(a), Kind::Less, std::move(v)}; }
  static Condition le(std::string a, Value v) { return {std::move(a), Kind::LessEq, std::move(v)}; }
  static Condition gt(std::string a, Value v) {
    return {std::move(a), Kind::Greater, std::move(v)};
  }
  static Condition ge(std::string a, Value v) {
    return {std::move(a), Kind::GreaterEq, std::move(v)};
  }
  static Condition absent_or_lt(std::string a, Value v) {
    return {std::move(a), Kind::AbsentOrLess, std::move(v)};
  }
};

struct Update {
  enum class Kind { Set, Remove, Add, ListAppend, ListRemoveHead };
  std::string attr;
  Kind kind = Kind::Set;
  Value value;  // Set: the value; Add: a number (absent attribute counts as 0);
                // ListAppend: an array of values (absent list counts as empty)

  static Update set(std::string a, Value v) { return {std::move(a), Kind::Set, std::move(v)}; }
  static Update remove(std::string a) { return {std::move(a), Kind::Remove, Value()}; }
  static Update add(std::string a, int64_t n) { return {std::move(a), Kind::Add, Value(n)}; }
  static Update append(std::string a, Value values) {
    return {std::move(a), Kind::ListAppend, std::move(values)};
  }
  static Update remove_head(std::string a) { return {std::move(a), Kind::ListRemoveHead, Value()}; }
};

struct KvWrite {
  enum class Kind {
    Update,          // apply `updates` (creating the item if absent)
    Put,             // replace the whole item with `item`
    Delete,          // remove the item
    ConditionCheck,  // only check `conditions` (transactions)
  };
  std::string table;
  std::string key;
  Kind kind = Kind::Update;
  std::vector<Condition> conditions;  // all must hold; on an absent item every attribute is absent
  std::vector<Update> updates;
  Item item;
  bool return_old = false;  // on condition failure, return the item as it was
};

// The outcome of a write or a transaction. `status` is OK when it applied; ConditionFailed when
// a condition did not hold (the answer the protocol decides on: a lock is taken, a version moved);
// BadArguments when the request itself is wrong (an empty table or key, Add on a non-number, a
// transaction touching an item twice). Its message names the table, the key and the attribute.
// The details beside the status are what DynamoDB's ConditionalCheckFailed carries and a Status
// cannot: which write and condition failed, and the item as it was.
struct [[nodiscard]] KvResult {
  Status status;
  int failed_write = -1;         // index of the write whose condition failed
  int failed_condition = -1;     // index of that condition within the write; -1 when an update
                                 // itself failed (Add on a non-number) or a key repeats
  std::optional<Item> old_item;  // the failed write's item (if return_old), or the written
                                 // item before the update (single writes, if return_old)
  std::optional<Item> new_item;  // single successful Update: the item after it
  bool ok() const { return status.is_ok(); }
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual std::optional<Item> get(const std::string& table, const std::string& key) const = 0;
  virtual KvResult write(const KvWrite& w) = 0;
  virtual KvResult transact(const std::vector<KvWrite>& writes) = 0;
  // Every item of a table, ordered by key; side-effect free (dumps and quiescence checks).
  virtual std::vector<std::pair<std::string, Item>> scan(const std::string& table) const = 0;
};

}  // namespace fkemu
