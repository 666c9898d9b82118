#include "emulator/memory_kv_store.h"

#include <cstdint>
#include <limits>
#include <set>
#include <string_view>

#include "core/json/json_text.h"

namespace fkemu {
namespace {

using nlohmann::json;

// A JSON value for a message, cut short: node data can be a megabyte.
std::string brief(const json& v) {
  constexpr size_t kMax = 80;
  std::string s = v.dump();
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string describe(const Condition& c) {
  const std::string a = quote(c.attr);
  switch (c.kind) {
    case Condition::Kind::Exists:
      return "attribute_exists(" + a + ")";
    case Condition::Kind::NotExists:
      return "attribute_not_exists(" + a + ")";
    case Condition::Kind::Equals:
      return a + " = " + brief(c.value);
    case Condition::Kind::NotEquals:
      return a + " <> " + brief(c.value);
    case Condition::Kind::Less:
      return a + " < " + brief(c.value);
    case Condition::Kind::LessEq:
      return a + " <= " + brief(c.value);
    case Condition::Kind::Greater:
      return a + " > " + brief(c.value);
    case Condition::Kind::GreaterEq:
      return a + " >= " + brief(c.value);
    case Condition::Kind::AbsentOrLess:
      return "(attribute_not_exists(" + a + ") OR " + a + " < " + brief(c.value) + ")";
  }
  return a + " ?";
}

const char* update_name(Update::Kind k) {
  switch (k) {
    case Update::Kind::Set:
      return "set";
    case Update::Kind::Remove:
      return "remove";
    case Update::Kind::Add:
      return "add";
    case Update::Kind::ListAppend:
      return "list append";
    case Update::Kind::ListRemoveHead:
      return "list remove-head";
  }
  return "update";
}

// The attribute's value, or null if the item or the attribute is absent.
const json* attribute(const Item* item, const std::string& attr) {
  if (item == nullptr || !item->is_object()) return nullptr;
  auto it = item->find(attr);
  return it == item->end() ? nullptr : &*it;
}

// Why `c` does not hold on `item`, or nullopt if it holds.
std::optional<std::string> violation(const Item* item, const Condition& c) {
  if (c.attr.empty()) return "empty attribute name";
  const json* v = attribute(item, c.attr);
  const std::string actual =
      v == nullptr ? (item == nullptr ? "the item is absent" : "the attribute is absent")
                   : "the attribute is " + brief(*v);
  switch (c.kind) {
    case Condition::Kind::Exists:
      if (v != nullptr) return std::nullopt;
      return actual;
    case Condition::Kind::NotExists:
      if (v == nullptr) return std::nullopt;
      return actual;
    case Condition::Kind::Equals:
      if (v != nullptr && *v == c.value) return std::nullopt;
      return actual;
    case Condition::Kind::NotEquals:
      if (v == nullptr || *v != c.value) return std::nullopt;
      return actual;
    case Condition::Kind::Less:
    case Condition::Kind::LessEq:
    case Condition::Kind::Greater:
    case Condition::Kind::GreaterEq:
      break;
    case Condition::Kind::AbsentOrLess:
      if (v == nullptr) return std::nullopt;
      break;
  }
  if (v == nullptr) return actual;
  int order = 0;  // <0, 0, >0: the attribute compared with the condition's value
  if (v->is_number() && c.value.is_number()) {
    order = *v < c.value ? -1 : (c.value < *v ? 1 : 0);
  } else if (v->is_string() && c.value.is_string()) {
    order = v->get_ref<const std::string&>().compare(c.value.get_ref<const std::string&>());
  } else {
    return actual + ", not comparable with " + brief(c.value) +
           " (comparisons need two numbers or two strings)";
  }
  bool holds = false;
  switch (c.kind) {
    case Condition::Kind::Less:
    case Condition::Kind::AbsentOrLess:
      holds = order < 0;
      break;
    case Condition::Kind::LessEq:
      holds = order <= 0;
      break;
    case Condition::Kind::Greater:
      holds = order > 0;
      break;
    case Condition::Kind::GreaterEq:
      holds = order >= 0;
      break;
    default:
      break;
  }
  if (holds) return std::nullopt;
  return actual;
}

// a + b for two JSON integers, or nullopt on overflow / out of int64 range.
std::optional<int64_t> add_integers(const json& a, const json& b) {
  auto as_int64 = [](const json& v) -> std::optional<int64_t> {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    return v.get<int64_t>();
  };
  const auto x = as_int64(a);
  const auto y = as_int64(b);
  int64_t sum = 0;
  if (!x || !y || __builtin_add_overflow(*x, *y, &sum)) return std::nullopt;
  return sum;
}

// Why `u` cannot be applied to `item` (an object), or nullopt if it can.
std::optional<std::string> update_refusal(const Item& item, const Update& u) {
  if (u.attr.empty()) return "empty attribute name";
  auto it = item.find(u.attr);
  const bool present = it != item.end();
  switch (u.kind) {
    case Update::Kind::Set:
    case Update::Kind::Remove:
      return std::nullopt;
    case Update::Kind::Add:
      if (!u.value.is_number()) return "the operand " + brief(u.value) + " is not a number";
      if (!present) return std::nullopt;
      if (!it->is_number()) return "the attribute is " + brief(*it) + ", not a number";
      if (it->is_number_integer() && u.value.is_number_integer() && !add_integers(*it, u.value))
        return "the sum overflows a 64-bit integer";
      return std::nullopt;
    case Update::Kind::ListAppend:
      if (!u.value.is_array()) return "the operand " + brief(u.value) + " is not an array";
      if (present && !it->is_array()) return "the attribute is " + brief(*it) + ", not a list";
      return std::nullopt;
    case Update::Kind::ListRemoveHead:
      if (present && !it->is_array()) return "the attribute is " + brief(*it) + ", not a list";
      return std::nullopt;
  }
  return "unknown update kind";
}

// Applies `u` to `item` (an object) in place; returns why it cannot be applied (and changes
// nothing then), or nullopt.
std::optional<std::string> apply_update(Item& item, const Update& u) {
  if (auto why = update_refusal(item, u)) return why;
  auto it = item.find(u.attr);
  const bool present = it != item.end();
  switch (u.kind) {
    case Update::Kind::Set:
      item[u.attr] = u.value;
      break;
    case Update::Kind::Remove:
      if (present) item.erase(it);
      break;
    case Update::Kind::Add:
      if (!present) {
        item[u.attr] = u.value;
      } else if (it->is_number_integer() && u.value.is_number_integer()) {
        *it = *add_integers(*it, u.value);
      } else {
        *it = it->get<double>() + u.value.get<double>();
      }
      break;
    case Update::Kind::ListAppend:
      if (!present) {
        item[u.attr] = u.value;
      } else {
        it->insert(it->end(), u.value.begin(), u.value.end());
      }
      break;
    case Update::Kind::ListRemoveHead:
      if (present && !it->empty()) it->erase(it->begin());
      break;
  }
  return std::nullopt;
}

// Whether every update of `w` names an attribute no other update of it names: then each can be
// checked against the item as it is, and applied in place.
bool independent_updates(const KvWrite& w) {
  for (size_t a = 0; a < w.updates.size(); ++a)
    for (size_t b = a + 1; b < w.updates.size(); ++b)
      if (w.updates[a].attr == w.updates[b].attr) return false;
  return true;
}

std::string where(const KvWrite& w, int index) {
  std::string s = index >= 0 ? "write " + std::to_string(index) + " " : "write ";
  return s + "on table " + quote(w.table) + " key " + quote(w.key);
}

}  // namespace

std::optional<Item> MemoryKvStore::get(const std::string& table, const std::string& key) const {
  const Item* item = find(table, key);
  if (item == nullptr) return std::nullopt;
  return *item;
}

KvResult MemoryKvStore::write(const KvWrite& w) {
  KvResult result;
  std::optional<Effect> effect = prepare(w, -1, result);
  if (!effect) return result;
  if (w.return_old) {
    if (const Item* old = find(w.table, w.key)) result.old_item = *old;
  }
  const bool stores = effect->action == Effect::Action::Store;
  apply(std::move(*effect));
  if (stores) result.new_item = *find(w.table, w.key);
  return result;
}

KvResult MemoryKvStore::transact(const std::vector<KvWrite>& writes) {
  KvResult result;
  std::map<std::pair<std::string_view, std::string_view>, int> seen;
  for (size_t i = 0; i < writes.size(); ++i) {
    const KvWrite& w = writes[i];
    auto [it, inserted] = seen.try_emplace({w.table, w.key}, static_cast<int>(i));
    if (!inserted) {
      result.failed_write = static_cast<int>(i);
      result.status =
          Status(Code::BadArguments, "transaction refused: writes " + std::to_string(it->second) +
                                         " and " + std::to_string(i) + " both touch table " +
                                         quote(w.table) + " key " + quote(w.key) +
                                         " (a transaction may touch an item only once)");
      return result;
    }
  }
  std::vector<Effect> effects;
  effects.reserve(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    std::optional<Effect> effect = prepare(writes[i], static_cast<int>(i), result);
    if (!effect) return result;  // nothing applied yet
    effects.push_back(std::move(*effect));
  }
  for (Effect& e : effects) apply(std::move(e));
  return result;
}

std::vector<std::pair<std::string, Item>> MemoryKvStore::scan(const std::string& table) const {
  std::vector<std::pair<std::string, Item>> out;
  auto it = tables_.find(table);
  if (it == tables_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& [key, item] : it->second) out.emplace_back(key, item);
  return out;
}

const Item* MemoryKvStore::find(const std::string& table, const std::string& key) const {
  auto t = tables_.find(table);
  if (t == tables_.end()) return nullptr;
  auto it = t->second.find(key);
  return it == t->second.end() ? nullptr : &it->second;
}

std::optional<MemoryKvStore::Effect> MemoryKvStore::prepare(const KvWrite& w, int index,
                                                            KvResult& failure) const {
  const Item* current = find(w.table, w.key);
  auto fail = [&](int condition, std::string reason) -> std::optional<Effect> {
    failure.failed_write = index < 0 ? 0 : index;
    failure.failed_condition = condition;
    failure.status =
        Status(condition < 0 ? Code::BadArguments : Code::ConditionFailed, std::move(reason));
    failure.old_item.reset();
    if (w.return_old && current != nullptr) failure.old_item = *current;
    return std::nullopt;
  };
  if (w.table.empty()) return fail(-1, where(w, index) + ": empty table name");
  if (w.key.empty()) return fail(-1, where(w, index) + ": empty key");

  for (size_t j = 0; j < w.conditions.size(); ++j) {
    const Condition& c = w.conditions[j];
    if (auto why = violation(current, c)) {
      return fail(static_cast<int>(j), where(w, index) + ": condition " + std::to_string(j) + " " +
                                           describe(c) + " failed on attribute " + quote(c.attr) +
                                           ": " + *why);
    }
  }

  Effect e;
  e.write = &w;
  switch (w.kind) {
    case KvWrite::Kind::Update: {
      e.action = Effect::Action::Store;
      auto refused = [&](size_t j, const std::string& why) {
        const Update& u = w.updates[j];
        return fail(-1, where(w, index) + ": update " + std::to_string(j) + " (" +
                            update_name(u.kind) + " " + quote(u.attr) + ") failed on attribute " +
                            quote(u.attr) + ": " + why);
      };
      // An existing item whose updates are independent is changed in place by apply(): no copy
      // of it (an append to a long list costs the append, not the list).
      if (current != nullptr && independent_updates(w)) {
        for (size_t j = 0; j < w.updates.size(); ++j)
          if (auto why = update_refusal(*current, w.updates[j])) return refused(j, *why);
        e.in_place = true;
        break;
      }
      e.after = current != nullptr ? *current : Item::object();
      for (size_t j = 0; j < w.updates.size(); ++j)
        if (auto why = apply_update(e.after, w.updates[j])) return refused(j, *why);
      break;
    }
    case KvWrite::Kind::Put:
      if (!w.item.is_object()) {
        return fail(-1, where(w, index) + ": put item is " + brief(w.item) + ", not an object");
      }
      e.action = Effect::Action::Store;
      e.after = w.item;
      break;
    case KvWrite::Kind::Delete:
      e.action = Effect::Action::Erase;
      break;
    case KvWrite::Kind::ConditionCheck:
      e.action = Effect::Action::None;
      break;
  }
  return e;
}

void MemoryKvStore::apply(Effect&& e) {
  const KvWrite& w = *e.write;
  switch (e.action) {
    case Effect::Action::Store: {
      Item& item = tables_[w.table][w.key];
      if (e.in_place) {
        for (const Update& u : w.updates) (void)apply_update(item, u);  // checked by prepare()
      } else {
        item = std::move(e.after);
      }
      if (journal_) record(w.table, w.key, &item);
      break;
    }
    case Effect::Action::Erase:
      if (auto t = tables_.find(w.table); t != tables_.end()) {
        if (journal_ && t->second.count(w.key)) record(w.table, w.key, nullptr);
        t->second.erase(w.key);
      }
      break;
    case Effect::Action::None:
      break;
  }
}

void MemoryKvStore::attach_journal(StateJournal* j, std::string name) {
  journal_ = j;
  journal_name_ = std::move(name);
}

void MemoryKvStore::record(const std::string& table, const std::string& key, const Item* item) {
  const std::string space = "kv/" + journal_name_ + "/" + table;
  if (!item) return journal_->record(space, key, std::nullopt);
  const std::vector<uint8_t> cbor = Item::to_cbor(*item);
  journal_->record(space, key, std::string(cbor.begin(), cbor.end()));
}

void MemoryKvStore::record_all() {
  if (!journal_) return;
  for (const auto& [table, items] : tables_)
    for (const auto& [key, item] : items) record(table, key, &item);
}

void MemoryKvStore::restore(const std::string& table, const std::string& key,
                            const std::string& value) {
  tables_[table][key] = parse_cbor_or_throw(value, "the stored item");
}

}  // namespace fkemu
