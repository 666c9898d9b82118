// Value: the typed attribute value of the service fakes, as DynamoDB has them: null, bool,
// number (an integer: the protocol stores no fractions), string, bytes, list and map. Store
// items, queue message bodies and user-store objects are Values; the protocol's records
// (core/protocol/records.h) are laid out in them by their codecs.
//
// Copying a Value copies nothing below it: bytes are shared buffers (a node's data goes from
// the client call to the user store in one buffer), and lists and maps are shared copy on
// write: the mutable accessors clone one that another Value still shares, so a store changes
// its own item in place (an append is amortized O(1)) and a reader's copy never sees it.
//
// A map keeps its entries sorted by name. Numbers compare numerically, strings and bytes
// lexically (byte-wise); other types, and values of different types, do not compare (a
// condition on them is false), as in DynamoDB.
//
// JSON is an edge format (dumps, histories): to_json writes bytes as a JSON binary. The binary
// encoding (encode/decode) is what durable stores write.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/model/bytes.h"
#include "core/status.h"

namespace fkemu {

class Value;
using ValueList = std::vector<Value>;

class ValueMap;

class Value {
 public:
  enum class Type : uint8_t { Null, Bool, Number, String, Bytes, List, Map };

  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Value(bool b) : v_(b) {}  // NOLINT
  // Numbers are integers: a fraction would otherwise convert to bool.
  Value(double) = delete;
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) Value(I n)
      : v_(static_cast<int64_t>(n)) {}               // NOLINT
  Value(std::string s) : v_(std::move(s)) {}         // NOLINT
  Value(const char* s) : v_(std::string(s)) {}       // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}  // NOLINT
  Value(Bytes b) : v_(std::move(b)) {}               // NOLINT
  Value(ValueList l);                                // NOLINT
  Value(ValueMap m);                                 // NOLINT
  // A list of strings (children, session names, ids).
  static Value strings(const std::vector<std::string>& list);

  Value(const Value& other);
  Value(Value&&) noexcept = default;
  Value& operator=(const Value& other);
  Value& operator=(Value&&) noexcept = default;
  ~Value() = default;

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_bytes() const { return type() == Type::Bytes; }
  bool is_list() const { return type() == Type::List; }
  bool is_map() const { return type() == Type::Map; }

  // The value as that type; std::logic_error if it is another (a protocol bug, not input).
  bool as_bool() const;
  int64_t as_number() const;
  const std::string& as_string() const;
  const Bytes& as_bytes() const;
  const ValueList& as_list() const;
  const ValueMap& as_map() const;
  // For a change: unshared first (cloned if another Value shares it). Keep the reference only
  // while this Value is not copied.
  ValueList& as_list();
  ValueMap& as_map();

  // Map access: the attribute, or null when absent (or when this is no map).
  const Value& at(std::string_view name) const;
  bool contains(std::string_view name) const;

  // With a default for an absent attribute (or one of another type).
  bool bool_or(std::string_view name, bool otherwise) const;
  int64_t number_or(std::string_view name, int64_t otherwise) const;
  std::string string_or(std::string_view name, std::string otherwise) const;
  // Every string of a list attribute; empty if absent.
  std::vector<std::string> strings_of(std::string_view name) const;

  bool operator==(const Value& other) const;
  // Numbers numerically, strings and bytes byte-wise; unordered otherwise.
  std::partial_ordering compare(const Value& other) const;

  nlohmann::json to_json() const;
  // JSON binaries become bytes; fractions and numbers beyond int64 are refused.
  static Result<Value> from_json(const nlohmann::json& j);

  // The binary encoding of durable stores: a type byte, then a varint length or number, then
  // the contents; maps as count and (name, value) pairs.
  std::string encode() const;
  void encode_to(std::string& out) const;
  static Result<Value> decode(std::string_view bytes);

 private:
  // A list or map, shared by the Values copied from one another (a copy is a reference count)
  // and cloned before a change while shared: copy on write. Every empty one shares a single
  // instance, which is never changed (its own holder keeps it shared): an empty list costs no
  // allocation.
  template <typename T>
  struct Box {
    std::shared_ptr<T> p;
    explicit Box(T t) : p(t.empty() ? empty() : std::make_shared<T>(std::move(t))) {}
    static const std::shared_ptr<T>& empty() {
      static const std::shared_ptr<T> none = std::make_shared<T>();
      return none;
    }
    T& unshared() {
      if (p.use_count() > 1) p = std::make_shared<T>(*p);
      return *p;
    }
  };
  std::variant<std::monostate, bool, int64_t, std::string, Bytes, Box<ValueList>, Box<ValueMap>> v_;
};

// A map attribute (or an item): entries sorted by name, each name once.
class ValueMap {
 public:
  using Entry = std::pair<std::string, Value>;
  ValueMap() = default;
  ValueMap(std::initializer_list<Entry> entries);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  const Value* find(std::string_view name) const;
  Value* find(std::string_view name);
  // The entry, created null if absent.
  Value& operator[](std::string_view name);
  void set(std::string_view name, Value v);
  // Room for n entries: a codec that sets its attributes one by one allocates once.
  void reserve(size_t n) { entries_.reserve(n); }
  // No room beyond the entries (an item built attribute by attribute, about to be stored).
  void shrink_to_fit() { entries_.shrink_to_fit(); }
  bool erase(std::string_view name);
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  bool operator==(const ValueMap& other) const;

 private:
  size_t index_of(std::string_view name) const;  // size() when absent
  std::vector<Entry> entries_;
};

const char* value_type_name(Value::Type t);

}  // namespace fkemu
