#include "core/services/value.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "core/text/varint.h"

namespace fkemu {

using json = nlohmann::json;

// --- ValueMap -----------------------------------------------------------------------------------

namespace {
auto name_less = [](const ValueMap::Entry& e, std::string_view name) { return e.first < name; };
}  // namespace

ValueMap::ValueMap(std::initializer_list<Entry> entries) : entries_(entries) {
  // Codecs list their names in order: nothing to do then.
  if (std::adjacent_find(entries_.begin(), entries_.end(), [](const Entry& x, const Entry& y) {
        return !(x.first < y.first);
      }) == entries_.end())
    return;
  // Sorted once (stable: of two entries with one name the later wins, as with set()), not
  // inserted one by one; a record's handful of names by insertion, which allocates nothing.
  auto by_name = [](const Entry& x, const Entry& y) { return x.first < y.first; };
  if (entries_.size() <= 16) {
    for (auto it = std::next(entries_.begin()); it != entries_.end(); ++it)
      std::rotate(std::upper_bound(entries_.begin(), it, *it, by_name), it, std::next(it));
  } else {
    std::stable_sort(entries_.begin(), entries_.end(), by_name);
  }
  auto last_of_each = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    auto next = std::next(it);
    if (next != entries_.end() && next->first == it->first) continue;
    if (last_of_each != it) *last_of_each = std::move(*it);
    ++last_of_each;
  }
  entries_.erase(last_of_each, entries_.end());
}

size_t ValueMap::index_of(std::string_view name) const {
  // A record's handful of names: one pass that compares lengths and first characters, where
  // a binary search compares whole names at every step.
  if (entries_.size() <= 8) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      const std::string& n = entries_[i].first;
      if (n.size() == name.size() && (name.empty() || (n[0] == name[0] && n == name))) return i;
    }
    return entries_.size();
  }
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name, name_less);
  return it != entries_.end() && it->first == name ? static_cast<size_t>(it - entries_.begin())
                                                   : entries_.size();
}

const Value* ValueMap::find(std::string_view name) const {
  const size_t i = index_of(name);
  return i < entries_.size() ? &entries_[i].second : nullptr;
}

Value* ValueMap::find(std::string_view name) {
  const size_t i = index_of(name);
  return i < entries_.size() ? &entries_[i].second : nullptr;
}

Value& ValueMap::operator[](std::string_view name) {
  if (Value* present = find(name)) return *present;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name, name_less);
  if (it == entries_.end() || it->first != name)
    it = entries_.emplace(it, std::string(name), Value());
  return it->second;
}

void ValueMap::set(std::string_view name, Value v) { (*this)[name] = std::move(v); }

bool ValueMap::erase(std::string_view name) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name, name_less);
  if (it == entries_.end() || it->first != name) return false;
  entries_.erase(it);
  // A stored item gains attributes and loses them again (a lock, then its release): give back
  // the room once a third of it is unused, or every locked node would keep twice its size.
  if (entries_.capacity() > entries_.size() + entries_.size() / 2 + 1) entries_.shrink_to_fit();
  return true;
}

bool ValueMap::operator==(const ValueMap& other) const { return entries_ == other.entries_; }

// --- Value --------------------------------------------------------------------------------------

Value::Value(ValueList l) : v_(Box<ValueList>(std::move(l))) {}
Value::Value(ValueMap m) : v_(Box<ValueMap>(std::move(m))) {}

Value::Value(const Value& other) = default;
Value& Value::operator=(const Value& other) = default;

Value Value::strings(const std::vector<std::string>& list) {
  ValueList out;
  out.reserve(list.size());
  for (const auto& s : list) out.emplace_back(s);
  return Value(std::move(out));
}

const char* value_type_name(Value::Type t) {
  switch (t) {
    case Value::Type::Null:
      return "null";
    case Value::Type::Bool:
      return "bool";
    case Value::Type::Number:
      return "number";
    case Value::Type::String:
      return "string";
    case Value::Type::Bytes:
      return "bytes";
    case Value::Type::List:
      return "list";
    case Value::Type::Map:
      return "map";
  }
  return "?";
}

namespace {
[[noreturn]] void wrong_type(Value::Type have, Value::Type want) {
  throw std::logic_error(std::string("a ") + value_type_name(have) + " value used as a " +
                         value_type_name(want));
}
}  // namespace

bool Value::as_bool() const {
  if (!is_bool()) wrong_type(type(), Type::Bool);
  return std::get<bool>(v_);
}
int64_t Value::as_number() const {
  if (!is_number()) wrong_type(type(), Type::Number);
  return std::get<int64_t>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) wrong_type(type(), Type::String);
  return std::get<std::string>(v_);
}
const Bytes& Value::as_bytes() const {
  if (!is_bytes()) wrong_type(type(), Type::Bytes);
  return std::get<Bytes>(v_);
}
const ValueList& Value::as_list() const {
  if (!is_list()) wrong_type(type(), Type::List);
  return *std::get<Box<ValueList>>(v_).p;
}
ValueList& Value::as_list() {
  if (!is_list()) wrong_type(type(), Type::List);
  return std::get<Box<ValueList>>(v_).unshared();
}
const ValueMap& Value::as_map() const {
  if (!is_map()) wrong_type(type(), Type::Map);
  return *std::get<Box<ValueMap>>(v_).p;
}
ValueMap& Value::as_map() {
  if (!is_map()) wrong_type(type(), Type::Map);
  return std::get<Box<ValueMap>>(v_).unshared();
}

const Value& Value::at(std::string_view name) const {
  static const Value kNull;
  if (!is_map()) return kNull;
  const Value* v = as_map().find(name);
  return v ? *v : kNull;
}

bool Value::contains(std::string_view name) const { return is_map() && as_map().contains(name); }

bool Value::bool_or(std::string_view name, bool otherwise) const {
  const Value& v = at(name);
  return v.is_bool() ? v.as_bool() : otherwise;
}
int64_t Value::number_or(std::string_view name, int64_t otherwise) const {
  const Value& v = at(name);
  return v.is_number() ? v.as_number() : otherwise;
}
std::string Value::string_or(std::string_view name, std::string otherwise) const {
  const Value& v = at(name);
  return v.is_string() ? v.as_string() : otherwise;
}
std::vector<std::string> Value::strings_of(std::string_view name) const {
  std::vector<std::string> out;
  const Value& v = at(name);
  if (!v.is_list()) return out;
  out.reserve(v.as_list().size());
  for (const Value& s : v.as_list())
    if (s.is_string()) out.push_back(s.as_string());
  return out;
}

bool Value::operator==(const Value& other) const {
  if (type() != other.type()) return false;
  switch (type()) {
    case Type::Null:
      return true;
    case Type::Bool:
      return as_bool() == other.as_bool();
    case Type::Number:
      return as_number() == other.as_number();
    case Type::String:
      return as_string() == other.as_string();
    case Type::Bytes:
      return as_bytes() == other.as_bytes();
    case Type::List:
      return as_list() == other.as_list();
    case Type::Map:
      return as_map() == other.as_map();
  }
  return false;
}

std::partial_ordering Value::compare(const Value& other) const {
  if (type() != other.type()) return std::partial_ordering::unordered;
  switch (type()) {
    case Type::Number:
      return as_number() <=> other.as_number();
    case Type::String:
      return as_string().compare(other.as_string()) <=> 0;
    case Type::Bytes:
      return as_bytes().view().compare(other.as_bytes().view()) <=> 0;
    default:
      return std::partial_ordering::unordered;
  }
}

json Value::to_json() const {
  switch (type()) {
    case Type::Null:
      return nullptr;
    case Type::Bool:
      return as_bool();
    case Type::Number:
      return as_number();
    case Type::String:
      return as_string();
    case Type::Bytes: {
      const auto* p = reinterpret_cast<const uint8_t*>(as_bytes().data());
      return json::binary(std::vector<uint8_t>(p, p + as_bytes().size()));
    }
    case Type::List: {
      json out = json::array();
      for (const Value& v : as_list()) out.push_back(v.to_json());
      return out;
    }
    case Type::Map: {
      json out = json::object();
      for (const auto& [k, v] : as_map()) out[k] = v.to_json();
      return out;
    }
  }
  return nullptr;
}

Result<Value> Value::from_json(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return Value();
    case json::value_t::boolean:
      return Value(j.get<bool>());
    case json::value_t::number_integer:
      return Value(j.get<int64_t>());
    case json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return Status(Code::BadArguments, "the number " + j.dump() + " is beyond 64-bit range");
      return Value(static_cast<int64_t>(u));
    }
    case json::value_t::number_float:
      return Status(Code::BadArguments, "the number " + j.dump() + " is not an integer");
    case json::value_t::string:
      return Value(j.get<std::string>());
    case json::value_t::binary: {
      const auto& b = j.get_binary();
      return Value(Bytes(std::string(b.begin(), b.end())));
    }
    case json::value_t::array: {
      ValueList out;
      out.reserve(j.size());
      for (const json& e : j) {
        ASSIGN_OR_RETURN(Value v, from_json(e));
        out.push_back(std::move(v));
      }
      return Value(std::move(out));
    }
    case json::value_t::object: {
      ValueMap out;
      for (const auto& [k, e] : j.items()) {
        ASSIGN_OR_RETURN(Value v, from_json(e));
        out.set(k, std::move(v));
      }
      return Value(std::move(out));
    }
    case json::value_t::discarded:
      break;
  }
  return Status(Code::BadArguments, "a JSON value that is no attribute value");
}

// --- The binary encoding -------------------------------------------------------------------------

namespace {

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  Result<uint8_t> byte() {
    if (pos_ >= in_.size()) return truncated();
    return static_cast<uint8_t>(in_[pos_++]);
  }
  Result<uint64_t> varint() {
    uint64_t n = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      ASSIGN_OR_RETURN(uint8_t b, byte());
      if (shift == 63 && b > 1) break;  // beyond 64 bits
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return n;
    }
    return Status(Code::BadArguments, "a malformed length at byte " + std::to_string(pos_));
  }
  Result<std::string_view> take(uint64_t n) {
    if (n > in_.size() - pos_) return truncated();
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  Status truncated() const {
    return Status(Code::BadArguments,
                  "the encoded value ends early at byte " + std::to_string(pos_));
  }
  std::string_view in_;
  size_t pos_ = 0;
};

constexpr int kMaxDepth = 64;

Result<Value> decode_value(Reader& r, int depth) {
  if (depth > kMaxDepth) return Status(Code::BadArguments, "the encoded value nests too deep");
  ASSIGN_OR_RETURN(uint8_t tag, r.byte());
  switch (static_cast<Value::Type>(tag)) {
    case Value::Type::Null:
      return Value();
    case Value::Type::Bool: {
      ASSIGN_OR_RETURN(uint8_t b, r.byte());
      if (b > 1) return Status(Code::BadArguments, "a malformed bool in the encoded value");
      return Value(b == 1);
    }
    case Value::Type::Number: {
      ASSIGN_OR_RETURN(uint64_t u, r.varint());
      return Value(unzigzag(u));
    }
    case Value::Type::String: {
      ASSIGN_OR_RETURN(uint64_t n, r.varint());
      ASSIGN_OR_RETURN(std::string_view s, r.take(n));
      return Value(std::string(s));
    }
    case Value::Type::Bytes: {
      ASSIGN_OR_RETURN(uint64_t n, r.varint());
      ASSIGN_OR_RETURN(std::string_view s, r.take(n));
      return Value(Bytes(std::string(s)));
    }
    case Value::Type::List: {
      ASSIGN_OR_RETURN(uint64_t n, r.varint());
      ValueList out;
      for (uint64_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(Value v, decode_value(r, depth + 1));
        out.push_back(std::move(v));
      }
      return Value(std::move(out));
    }
    case Value::Type::Map: {
      ASSIGN_OR_RETURN(uint64_t n, r.varint());
      ValueMap out;
      for (uint64_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(uint64_t len, r.varint());
        ASSIGN_OR_RETURN(std::string_view name, r.take(len));
        ASSIGN_OR_RETURN(Value v, decode_value(r, depth + 1));
        out.set(name, std::move(v));
      }
      return Value(std::move(out));
    }
  }
  return Status(Code::BadArguments, "an unknown type " + std::to_string(tag) +
                                        " in the encoded value at byte " +
                                        std::to_string(r.pos() - 1));
}

}  // namespace

void Value::encode_to(std::string& out) const {
  out.push_back(static_cast<char>(type()));
  switch (type()) {
    case Type::Null:
      break;
    case Type::Bool:
      out.push_back(as_bool() ? 1 : 0);
      break;
    case Type::Number:
      put_varint(out, zigzag(as_number()));
      break;
    case Type::String:
      put_varint(out, as_string().size());
      out += as_string();
      break;
    case Type::Bytes:
      put_varint(out, as_bytes().size());
      out += as_bytes().view();
      break;
    case Type::List:
      put_varint(out, as_list().size());
      for (const Value& v : as_list()) v.encode_to(out);
      break;
    case Type::Map:
      put_varint(out, as_map().size());
      for (const auto& [k, v] : as_map()) {
        put_varint(out, k.size());
        out += k;
        v.encode_to(out);
      }
      break;
  }
}

std::string Value::encode() const {
  std::string out;
  encode_to(out);
  return out;
}

Result<Value> Value::decode(std::string_view bytes) {
  Reader r(bytes);
  ASSIGN_OR_RETURN(Value v, decode_value(r, 0));
  if (!r.done())
    return Status(
        Code::BadArguments,
        "the encoded value has " + std::to_string(bytes.size() - r.pos()) + " bytes after its end");
  return v;
}

}  // namespace fkemu
