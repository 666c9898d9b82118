#include "core/model/stat.h"

#include <stdexcept>

namespace fkemu {

Value stat_to_value(const Stat& s) {
  return Value(ValueMap{{"czxid", s.czxid},
                        {"mzxid", s.mzxid},
                        {"pzxid", s.pzxid},
                        {"ctime", s.ctime},
                        {"mtime", s.mtime},
                        {"version", s.version},
                        {"cversion", s.cversion},
                        {"aversion", s.aversion},
                        {"ephemeralOwner", s.ephemeral_owner ? Value(*s.ephemeral_owner) : Value()},
                        {"dataLength", s.data_length},
                        {"numChildren", s.num_children}});
}

Stat stat_from_value(const Value& v) {
  auto int32 = [&v](const char* name) { return static_cast<int32_t>(v.number_or(name, 0)); };
  Stat s;
  s.czxid = v.number_or("czxid", 0);
  s.mzxid = v.number_or("mzxid", 0);
  s.pzxid = v.number_or("pzxid", 0);
  s.ctime = v.number_or("ctime", 0);
  s.mtime = v.number_or("mtime", 0);
  s.version = int32("version");
  s.cversion = int32("cversion");
  s.aversion = int32("aversion");
  if (v.at("ephemeralOwner").is_string()) s.ephemeral_owner = v.at("ephemeralOwner").as_string();
  s.data_length = int32("dataLength");
  s.num_children = int32("numChildren");
  return s;
}

nlohmann::json stat_to_json(const Stat& s) { return stat_to_value(s).to_json(); }

Stat stat_from_json(const nlohmann::json& j) {
  auto v = Value::from_json(j);
  if (!v.is_ok()) throw std::invalid_argument("a stat: " + v.status().message());
  return stat_from_value(*v);
}

}  // namespace fkemu
