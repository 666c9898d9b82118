#include "harness/history_diff.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>

#include "core/json/json_text.h"

namespace fkemu::zkref {
namespace {

using nlohmann::json;

constexpr size_t kMaxDifferences = 100;
constexpr size_t kMaxValueChars = 200;
constexpr size_t kMaxAlignCells = 4000000;  // 16 MB of LCS table

bool is_kind(const json& line, const char* kind) {
  return line.is_object() && line.contains("kind") && line["kind"].is_string() &&
         line["kind"].get<std::string>() == kind;
}

bool is_stat_zxid_key(const std::string& key) {
  return key == "czxid" || key == "mzxid" || key == "pzxid";
}

// Drops ctime/mtime anywhere and collects stat zxids anywhere in `v`.
void strip_and_collect(json& v, std::set<int64_t>* zxids) {
  if (v.is_object()) {
    v.erase("ctime");
    v.erase("mtime");
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (is_stat_zxid_key(it.key()) && it.value().is_number_integer()) {
        zxids->insert(it.value().get<int64_t>());
      } else {
        strip_and_collect(it.value(), zxids);
      }
    }
  } else if (v.is_array()) {
    for (json& e : v) strip_and_collect(e, zxids);
  }
}

void apply_ranks(json& v, const std::map<int64_t, int64_t>& rank) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (is_stat_zxid_key(it.key()) && it.value().is_number_integer()) {
        it.value() = rank.at(it.value().get<int64_t>());
      } else {
        apply_ranks(it.value(), rank);
      }
    }
  } else if (v.is_array()) {
    for (json& e : v) apply_ranks(e, rank);
  }
}

bool all_watches_have_zxid(const std::vector<json>& history) {
  for (const json& line : history) {
    if (is_kind(line, "watch") && (!line.contains("zxid") || line["zxid"].is_null())) {
      return false;
    }
  }
  return true;
}

std::string short_dump(const json& v) {
  std::string s = json_text(v);
  if (s.size() > kMaxValueChars) {
    s = s.substr(0, kMaxValueChars) + "...(" + std::to_string(s.size()) + " chars)";
  }
  return s;
}

// Control characters as \xNN, so that a description stays one printable line.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string str_field(const json& line, const char* key) {
  if (line.is_object() && line.contains(key) && line[key].is_string()) {
    return line[key].get<std::string>();
  }
  return "";
}

// "id 4, session b, get_data /a" or "watch, session b, NodeDeleted /a".
std::string describe(const json& line, const std::map<int64_t, json>& invokes) {
  if (!line.is_object()) return "not an object";
  if (is_kind(line, "watch")) {
    return "watch, session " + str_field(line, "session") + ", " + str_field(line, "event") + " " +
           printable(str_field(line, "path"));
  }
  if (line.contains("id") && line["id"].is_number_integer()) {
    const int64_t id = line["id"].get<int64_t>();
    std::string out = "id " + std::to_string(id);
    auto it = invokes.find(id);
    const json& inv = it != invokes.end() ? it->second : line;
    out += ", session " + str_field(inv, "session");
    const std::string op = str_field(inv, "op");
    if (!op.empty()) out += ", " + op;
    const std::string path = str_field(inv, "path");
    if (!path.empty()) out += " " + printable(path);
    return out;
  }
  return "kind " + str_field(line, "kind");
}

void compare(const json& e, const json& a, const std::string& field, const std::string& prefix,
             std::vector<std::string>* out) {
  if (e.is_object() && a.is_object()) {
    std::set<std::string> keys;
    for (auto it = e.begin(); it != e.end(); ++it) keys.insert(it.key());
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (const std::string& key : keys) {
      const std::string name = field.empty() ? key : field + "." + key;
      if (!a.contains(key)) {
        out->push_back(prefix + name + ": zookeeper " + short_dump(e[key]) + ", fkemu (absent)");
      } else if (!e.contains(key)) {
        out->push_back(prefix + name + ": zookeeper (absent), fkemu " + short_dump(a[key]));
      } else {
        compare(e[key], a[key], name, prefix, out);
      }
    }
    return;
  }
  if (e == a) return;
  std::string msg = prefix + field + ": zookeeper " + short_dump(e) + ", fkemu " + short_dump(a);
  const std::string last = field.substr(field.rfind('.') + 1);
  if (is_stat_zxid_key(last) || last == "zxid") msg += " (zxid ranks)";
  out->push_back(msg);
}

// The identity of a line for alignment: invocations by session, op and path,
// answers by session (ok and error alike), watch events by session, event and
// path. Ids and all other fields are compared after alignment.
std::string signature(const json& line) {
  if (!line.is_object()) return "?" + short_dump(line);
  const std::string session = str_field(line, "session");
  if (is_kind(line, "invoke")) {
    return "i|" + session + "|" + str_field(line, "op") + "|" + str_field(line, "path");
  }
  if (is_kind(line, "ok") || is_kind(line, "error")) return "a|" + session;
  if (is_kind(line, "watch")) {
    return "w|" + session + "|" + str_field(line, "event") + "|" + str_field(line, "path");
  }
  return "k|" + str_field(line, "kind") + "|" + session;
}

struct Pair {
  long e;  // index into ZooKeeper's history, -1 if the line is extra in fkemu
  long a;  // index into fkemu's history, -1 if the line is missing there
};

// Pairs lines by a longest common subsequence of their signatures, so that
// one missing or extra line does not shift every later comparison; very long
// histories fall back to pairing by position.
std::vector<Pair> align(const std::vector<json>& e, const std::vector<json>& a) {
  const size_t n = e.size();
  const size_t m = a.size();
  std::vector<Pair> out;
  if (n * m > kMaxAlignCells) {
    for (size_t i = 0; i < std::max(n, m); ++i) {
      out.push_back(Pair{i < n ? static_cast<long>(i) : -1, i < m ? static_cast<long>(i) : -1});
    }
    return out;
  }
  std::vector<std::string> se, sa;
  for (const json& line : e) se.push_back(signature(line));
  for (const json& line : a) sa.push_back(signature(line));
  // lcs[i * (m + 1) + j] = LCS length of se[i..] and sa[j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = se[i] == sa[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && se[i] == sa[j]) {
      out.push_back(Pair{static_cast<long>(i++), static_cast<long>(j++)});
    } else if (j == m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      out.push_back(Pair{static_cast<long>(i++), -1});
    } else {
      out.push_back(Pair{-1, static_cast<long>(j++)});
    }
  }
  return out;
}

}  // namespace

std::vector<json> canonicalize_history(const std::vector<json>& history, bool drop_watch_zxid) {
  std::vector<json> out;
  std::set<int64_t> zxids;
  std::set<int64_t> set_acls;  // ids of set_acl invocations
  // ZooKeeper's client sees no "service" line (fkemu's container cleanup): compared are the
  // lines both have.
  for (const json& line : history)
    if (!is_kind(line, "service")) out.push_back(line);
  for (json& line : out) {
    if (!line.is_object()) continue;
    line.erase("t");
    if (is_kind(line, "invoke")) {
      // Arguments are inputs, echoed in runner-specific ways (data vs
      // data_b64, defaults spelled out or not); only the identity remains.
      json kept = json::object();
      for (const char* key : {"kind", "id", "session", "op", "path"}) {
        if (line.contains(key)) kept[key] = line[key];
      }
      if (kept.value("op", "") == "set_acl" && kept.contains("id") &&
          kept["id"].is_number_integer())
        set_acls.insert(kept["id"].get<int64_t>());
      line = std::move(kept);
      continue;
    }
    const bool watch = is_kind(line, "watch");
    if (watch && drop_watch_zxid) line.erase("zxid");
    // The zxid fkemu reports for a committed write is an absolute value ZooKeeper's client does
    // not report; its relative order shows in the stats.
    if (is_kind(line, "ok")) line.erase("zxid");
    // The C client does not report setACL's stat.
    if (is_kind(line, "ok") && line.contains("id") && line["id"].is_number_integer() &&
        set_acls.count(line["id"].get<int64_t>()))
      line.erase("stat");
    // A multi's creates: the C client's multi gives their names, not their stats.
    if (is_kind(line, "ok") && line.contains("results") && line["results"].is_array())
      for (json& r : line["results"])
        if (r.is_object() && r.contains("op") && r["op"] == "create") r.erase("stat");
    strip_and_collect(line, &zxids);
    if (watch && line.contains("zxid") && line["zxid"].is_number_integer()) {
      zxids.insert(line["zxid"].get<int64_t>());
    }
  }
  std::map<int64_t, int64_t> rank;
  int64_t next = 0;
  for (int64_t z : zxids) rank[z] = next++;
  for (json& line : out) {
    if (!line.is_object()) continue;
    apply_ranks(line, rank);
    if (is_kind(line, "watch") && line.contains("zxid") && line["zxid"].is_number_integer()) {
      line["zxid"] = rank.at(line["zxid"].get<int64_t>());
    }
  }
  return out;
}

std::vector<std::string> diff_histories(const std::vector<json>& expected,
                                        const std::vector<json>& actual) {
  const bool drop = !all_watches_have_zxid(expected) || !all_watches_have_zxid(actual);
  const std::vector<json> e = canonicalize_history(expected, drop);
  const std::vector<json> a = canonicalize_history(actual, drop);

  std::map<int64_t, json> invokes;  // ZooKeeper's invoke lines first, then fkemu's
  for (const std::vector<json>* h : {&e, &a}) {
    for (const json& line : *h) {
      if (is_kind(line, "invoke") && line.contains("id") && line["id"].is_number_integer()) {
        invokes.emplace(line["id"].get<int64_t>(), line);
      }
    }
  }

  std::vector<std::string> out;
  for (const Pair& p : align(e, a)) {
    if (p.a < 0) {
      const std::string where =
          "line " + std::to_string(p.e + 1) + " (" + describe(e[p.e], invokes) + "): ";
      out.push_back(where + "missing in fkemu: " + short_dump(e[p.e]));
    } else if (p.e < 0) {
      const std::string where =
          "fkemu line " + std::to_string(p.a + 1) + " (" + describe(a[p.a], invokes) + "): ";
      out.push_back(where + "extra in fkemu: " + short_dump(a[p.a]));
    } else {
      const json& x = e[p.e];
      const json& y = a[p.a];
      std::string where = "line " + std::to_string(p.e + 1);
      if (p.a != p.e) where += " [fkemu " + std::to_string(p.a + 1) + "]";
      where += " (" + describe(x, invokes) + "): ";
      if (!x.is_object() || !y.is_object()) {
        if (x != y) {
          out.push_back(where + "zookeeper " + short_dump(x) + ", fkemu " + short_dump(y));
        }
      } else {
        compare(x, y, "", where, &out);
      }
    }
  }
  if (out.size() > kMaxDifferences) {
    const size_t more = out.size() - kMaxDifferences;
    out.resize(kMaxDifferences);
    out.push_back("... " + std::to_string(more) + " more differences not shown");
  }
  return out;
}

std::vector<json> read_history_jsonl(std::istream& in) {
  std::vector<json> out;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    auto j = parse_json(line, "history line " + std::to_string(number));
    if (!j.is_ok()) throw std::runtime_error(j.status().message());
    out.push_back(std::move(*j));
  }
  return out;
}

}  // namespace fkemu::zkref
