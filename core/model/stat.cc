#include "core/model/stat.h"

namespace fkemu {

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
  s.czxid = j.value("czxid", int64_t{0});
  s.mzxid = j.value("mzxid", int64_t{0});
  s.pzxid = j.value("pzxid", int64_t{0});
  s.ctime = j.value("ctime", int64_t{0});
  s.mtime = j.value("mtime", int64_t{0});
  s.version = j.value("version", 0);
  s.cversion = j.value("cversion", 0);
  s.aversion = j.value("aversion", 0);
  if (auto it = j.find("ephemeralOwner"); it != j.end() && it->is_string())
    s.ephemeral_owner = it->get<std::string>();
  s.data_length = j.value("dataLength", 0);
  s.num_children = j.value("numChildren", 0);
  return s;
}

}  // namespace fkemu
