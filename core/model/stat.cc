#include "core/model/stat.h"

#include <stdexcept>

namespace fkemu {

namespace {

// The packed layout (decision 41): a layout byte, the ten numbers as zigzag varints in the
// order of Stat, then the owner: 0, or 1, its length as a varint and its bytes.
constexpr char kPackedStat = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_signed(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// Reads from the front of `in`; false (and `in` left as is) if it holds no whole varint.
bool take_varint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (size_t i = 0; i < in.size() && i < 10; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i]) & 0x7f) << (7 * i);
    if ((static_cast<unsigned char>(in[i]) & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

bool take_signed(std::string_view& in, int64_t& v) {
  uint64_t u = 0;
  if (!take_varint(in, u)) return false;
  v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

bool take_int32(std::string_view& in, int32_t& v) {
  int64_t wide = 0;
  if (!take_signed(in, wide)) return false;
  v = static_cast<int32_t>(wide);
  return true;
}

}  // namespace

Value stat_to_value(const Stat& s) {
  std::string out;
  out.reserve(32 + (s.ephemeral_owner ? s.ephemeral_owner->size() : 0));
  out.push_back(kPackedStat);
  for (int64_t v : {s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime}) put_signed(out, v);
  for (int32_t v : {s.version, s.cversion, s.aversion, s.data_length, s.num_children})
    put_signed(out, v);
  if (s.ephemeral_owner) {
    out.push_back(1);
    put_varint(out, s.ephemeral_owner->size());
    out += *s.ephemeral_owner;
  } else {
    out.push_back(0);
  }
  return Value(Bytes(std::move(out)));
}

Stat stat_from_value(const Value& v) {
  Stat s;
  if (!v.is_bytes()) return s;
  std::string_view in = v.as_bytes().view();
  if (in.empty() || in.front() != kPackedStat) return s;
  in.remove_prefix(1);
  // A field cut off reads as 0, as an absent one did in the map layout.
  if (!take_signed(in, s.czxid) || !take_signed(in, s.mzxid) || !take_signed(in, s.pzxid) ||
      !take_signed(in, s.ctime) || !take_signed(in, s.mtime) || !take_int32(in, s.version) ||
      !take_int32(in, s.cversion) || !take_int32(in, s.aversion) ||
      !take_int32(in, s.data_length) || !take_int32(in, s.num_children))
    return s;
  uint64_t length = 0;
  if (in.size() >= 2 && in.front() == 1) {
    in.remove_prefix(1);
    if (take_varint(in, length) && length <= in.size())
      s.ephemeral_owner = std::string(in.substr(0, length));
  }
  return s;
}

nlohmann::json stat_to_json(const Stat& s) {
  return nlohmann::json{{"czxid", s.czxid},
                        {"mzxid", s.mzxid},
                        {"pzxid", s.pzxid},
                        {"ctime", s.ctime},
                        {"mtime", s.mtime},
                        {"version", s.version},
                        {"cversion", s.cversion},
                        {"aversion", s.aversion},
                        {"ephemeralOwner", s.ephemeral_owner ? nlohmann::json(*s.ephemeral_owner)
                                                             : nlohmann::json(nullptr)},
                        {"dataLength", s.data_length},
                        {"numChildren", s.num_children}};
}

Stat stat_from_json(const nlohmann::json& j) {
  Stat s;
  if (!j.is_object()) throw std::invalid_argument("a stat must be a JSON object");
  // Absent fields read as 0; a present one must be an integer (or null for the owner).
  auto number = [&j](const char* name) -> int64_t {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    throw std::invalid_argument(std::string("a stat's ") + name + " must be an integer, not " +
                                it->dump());
  };
  s.czxid = number("czxid");
  s.mzxid = number("mzxid");
  s.pzxid = number("pzxid");
  s.ctime = number("ctime");
  s.mtime = number("mtime");
  s.version = static_cast<int32_t>(number("version"));
  s.cversion = static_cast<int32_t>(number("cversion"));
  s.aversion = static_cast<int32_t>(number("aversion"));
  s.data_length = static_cast<int32_t>(number("dataLength"));
  s.num_children = static_cast<int32_t>(number("numChildren"));
  if (auto it = j.find("ephemeralOwner"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      throw std::invalid_argument("a stat's ephemeralOwner must be a string or null, not " +
                                  it->dump());
    s.ephemeral_owner = it->get<std::string>();
  }
  return s;
}

}  // namespace fkemu
