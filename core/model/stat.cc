#include "core/model/stat.h"

#include <limits>
#include <stdexcept>

#include "core/text/varint.h"

namespace fkemu {

namespace {

// The packed layout (decision 41): a layout byte, the ten numbers as zigzag varints in the
// order of Stat, then the owner: 0; or 1, its length as a varint and its bytes; or 2 and a TTL
// node's time to live as a zigzag varint.
constexpr char kPackedStat = 1;

}  // namespace

void append_packed_stat(std::string& out, const Stat& s) {
  out.push_back(kPackedStat);
  for (int64_t v : {s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime}) put_signed(out, v);
  for (int64_t v : {s.version, s.cversion, s.aversion, s.data_length, s.num_children})
    put_signed(out, v);
  // The owner byte: 0 none, 1 a session's name follows, 2 a TTL node's time to live follows.
  if (s.ephemeral_owner) {
    out.push_back(1);
    put_text(out, *s.ephemeral_owner);
  } else if (s.ttl_ms != 0) {
    out.push_back(2);
    put_signed(out, s.ttl_ms);
  } else {
    out.push_back(0);
  }
}

Stat read_packed_stat(std::string_view packed) {
  auto damaged = [](const char* what) {
    return std::invalid_argument(std::string("a damaged stat: ") + what);
  };
  Stat s;
  VarintReader in(packed);
  uint8_t layout = 0;
  if (!in.byte(layout) || layout != kPackedStat) throw damaged("an unknown layout");
  int64_t small[5] = {};
  bool whole = in.signed_number(s.czxid) && in.signed_number(s.mzxid) &&
               in.signed_number(s.pzxid) && in.signed_number(s.ctime) && in.signed_number(s.mtime);
  for (int64_t& n : small) whole = whole && in.signed_number(n);
  uint8_t has_owner = 0;
  std::string_view owner;
  if (!whole || !in.byte(has_owner)) throw damaged("cut off");
  if (has_owner > 2) throw damaged("an owner flag other than 0, 1 or 2");
  if (has_owner == 1 && !in.text(owner)) throw damaged("cut off");
  if (has_owner == 2 && (!in.signed_number(s.ttl_ms) || s.ttl_ms <= 0))
    throw damaged("a cut or non-positive time to live");
  if (!in.done()) throw damaged("bytes beyond its end");
  for (int64_t n : small)
    if (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max())
      throw damaged("a 32-bit field out of range");
  s.version = static_cast<int32_t>(small[0]);
  s.cversion = static_cast<int32_t>(small[1]);
  s.aversion = static_cast<int32_t>(small[2]);
  s.data_length = static_cast<int32_t>(small[3]);
  s.num_children = static_cast<int32_t>(small[4]);
  if (has_owner == 1) s.ephemeral_owner = std::string(owner);
  return s;
}

Value stat_to_value(const Stat& s) {
  std::string out;
  out.reserve(32 + (s.ephemeral_owner ? s.ephemeral_owner->size() : 0));
  append_packed_stat(out, s);
  return Value(Bytes(std::move(out)));
}

Stat stat_from_value(const Value& v) {
  if (!v.is_bytes()) throw std::invalid_argument("a damaged stat: not packed bytes");
  return read_packed_stat(v.as_bytes().view());
}

nlohmann::json stat_to_json(const Stat& s) {
  nlohmann::json j{{"czxid", s.czxid},
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
  if (s.ttl_ms != 0) j["ttl_ms"] = s.ttl_ms;
  return j;
}

Stat stat_from_json(const nlohmann::json& j) {
  Stat s;
  if (!j.is_object()) throw std::invalid_argument("a stat must be a JSON object");
  // Absent fields read as 0; a present one must be an integer (or null for the owner).
  auto number = [&j](const char* name) -> int64_t {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) return 0;
    if (it->is_number_unsigned() &&
        it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw std::invalid_argument(std::string("a stat's ") + name +
                                  " is beyond 64 bits: " + it->dump());
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
  s.ttl_ms = number("ttl_ms");
  if (auto it = j.find("ephemeralOwner"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      throw std::invalid_argument("a stat's ephemeralOwner must be a string or null, not " +
                                  it->dump());
    s.ephemeral_owner = it->get<std::string>();
  }
  return s;
}

}  // namespace fkemu
