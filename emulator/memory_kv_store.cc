#include "emulator/memory_kv_store.h"

#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace fkemu {
namespace {

// A value for a message, cut short: node data can be a megabyte.
std::string brief(const Value& v) {
  constexpr size_t kMax = 80;
  std::string s = v.is_bytes()
                      ? "<" + std::to_string(v.as_bytes().size()) + " bytes>"
                      : v.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
const Value* attribute(const Item* item, const std::string& attr) {
  if (item == nullptr || !item->is_map()) return nullptr;
  return item->as_map().find(attr);
}

// Why `c` does not hold on `item`, or nullopt if it holds.
std::optional<std::string> violation(const Item* item, const Condition& c) {
  if (c.attr.empty()) return "empty attribute name";
  const Value* v = attribute(item, c.attr);
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
  const std::partial_ordering order = v->compare(c.value);
  if (order == std::partial_ordering::unordered)
    return actual + ", not comparable with " + brief(c.value) +
           " (comparisons need two numbers, two strings or two byte strings)";
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

// Why `u` cannot be applied to `item` (a map), or nullopt if it can.
std::optional<std::string> update_refusal(const Item& item, const Update& u) {
  if (u.attr.empty()) return "empty attribute name";
  const Value* present = item.as_map().find(u.attr);
  switch (u.kind) {
    case Update::Kind::Set:
    case Update::Kind::Remove:
      return std::nullopt;
    case Update::Kind::Add: {
      if (!u.value.is_number()) return "the operand " + brief(u.value) + " is not a number";
      if (!present) return std::nullopt;
      if (!present->is_number()) return "the attribute is " + brief(*present) + ", not a number";
      int64_t sum = 0;
      if (__builtin_add_overflow(present->as_number(), u.value.as_number(), &sum))
        return "the sum overflows a 64-bit integer";
      return std::nullopt;
    }
    case Update::Kind::ListAppend:
      if (!u.value.is_list()) return "the operand " + brief(u.value) + " is not a list";
      if (present && !present->is_list())
        return "the attribute is " + brief(*present) + ", not a list";
      return std::nullopt;
    case Update::Kind::ListRemoveHead:
      if (present && !present->is_list())
        return "the attribute is " + brief(*present) + ", not a list";
      return std::nullopt;
  }
  return "unknown update kind";
}

// Applies `u` to `item` (a map) in place; returns why it cannot be applied (and changes
// nothing then), or nullopt.
std::optional<std::string> apply_update(Item& item, const Update& u) {
  if (auto why = update_refusal(item, u)) return why;
  ValueMap& m = item.as_map();
  Value* present = m.find(u.attr);
  switch (u.kind) {
    case Update::Kind::Set:
      m.set(u.attr, u.value);
      break;
    case Update::Kind::Remove:
      m.erase(u.attr);
      break;
    case Update::Kind::Add:
      if (!present) {
        m.set(u.attr, u.value);
      } else {
        *present = Value(present->as_number() + u.value.as_number());  // checked: no overflow
      }
      break;
    case Update::Kind::ListAppend:
      if (!present) {
        m.set(u.attr, u.value);
      } else {
        ValueList& list = present->as_list();
        const ValueList& more = u.value.as_list();
        list.insert(list.end(), more.begin(), more.end());
      }
      break;
    case Update::Kind::ListRemoveHead:
      if (present && !std::as_const(*present).as_list().empty()) {
        if (std::as_const(*present).as_list().size() == 1)
          *present = Value(ValueList{});  // the shared empty list: its room goes back
        else
          present->as_list().erase(present->as_list().begin());
      }
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
      e.after = current != nullptr ? *current : Item(ValueMap{});
      for (size_t j = 0; j < w.updates.size(); ++j)
        if (auto why = apply_update(e.after, w.updates[j])) return refused(j, *why);
      e.after.as_map().shrink_to_fit();  // grown attribute by attribute, stored for long
      break;
    }
    case KvWrite::Kind::Put:
      if (!w.item.is_map()) {
        return fail(-1, where(w, index) + ": put item is " + brief(w.item) + ", not a map");
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
  journal_->record(space, key, item->encode());
}

void MemoryKvStore::record_all() {
  if (!journal_) return;
  for (const auto& [table, items] : tables_)
    for (const auto& [key, item] : items) record(table, key, &item);
}

void MemoryKvStore::restore(const std::string& table, const std::string& key,
                            const std::string& value) {
  auto item = Value::decode(value);
  if (!item.is_ok()) throw std::invalid_argument("the stored item: " + item.status().message());
  if (!item->is_map()) throw std::invalid_argument("the stored item is no map");
  tables_[table][key] = std::move(*item);
}

}  // namespace fkemu
