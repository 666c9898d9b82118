#include "core/model/acl.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

namespace fkemu {

const Acl& open_acl() {
  static const Acl open{AclEntry{perm::kAll, "world", "anyone"}};
  return open;
}

Acl stored_acl(Acl acl) {
  if (acl == open_acl()) acl.clear();
  return acl;
}

const Acl& effective_acl(const Acl& stored) { return stored.empty() ? open_acl() : stored; }

namespace {

// Java's String.split(":").length == 2: trailing empty parts are dropped, so "a:" is one part
// and ":b" two.
bool digest_id_valid(std::string_view id) {
  while (!id.empty() && id.back() == ':') id.remove_suffix(1);
  return !id.empty() && std::count(id.begin(), id.end(), ':') == 1;
}

// Integer.parseInt: an optional sign, then decimal digits.
std::optional<int64_t> parse_int(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.size() > 11) return std::nullopt;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Four decimal parts separated by dots, each 0..255 (Java's split("\\.", -1) and parseInt).
std::optional<std::array<uint8_t, 4>> ipv4(std::string_view text) {
  std::array<uint8_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return std::nullopt;
    const auto v = parse_int(text.substr(0, dot));
    if (!v || *v < 0 || *v > 255) return std::nullopt;
    out[i] = static_cast<uint8_t>(*v);
    if (i < 3) text.remove_prefix(dot + 1);
  }
  return out;
}

// "a.b.c.d" and "a.b.c.d/bits", bits in 0..32.
std::optional<std::pair<std::array<uint8_t, 4>, int>> ip_expr(std::string_view expr) {
  const size_t slash = expr.find('/');
  const auto addr = ipv4(expr.substr(0, slash));
  if (!addr) return std::nullopt;
  int bits = 32;
  if (slash != std::string_view::npos) {
    const auto b = parse_int(expr.substr(slash + 1));
    if (!b || *b < 0 || *b > 32) return std::nullopt;
    bits = static_cast<int>(*b);
  }
  return std::make_pair(*addr, bits);
}

void mask(std::array<uint8_t, 4>& a, int bits) {
  for (int i = 0; i < 4; ++i) {
    const int keep = std::clamp(bits - 8 * i, 0, 8);
    a[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
}

bool authenticated(const Identity& id) { return id.scheme == "digest"; }

}  // namespace

bool ip_acl_valid(std::string_view expr) { return ip_expr(expr).has_value(); }

bool ip_acl_matches(std::string_view address, std::string_view expr) {
  auto e = ip_expr(expr);
  auto a = ipv4(address);
  if (!e || !a) return false;
  mask(e->first, e->second);
  mask(*a, e->second);
  return *a == e->first;
}

std::optional<Acl> fixup_acl(const Acl& requested, const std::vector<Identity>& identities) {
  // Duplicates go, the first of each kept in its place (ZooKeeper's removeDuplicates), through
  // a set: a list of tens of thousands of entries (a 1 MB request) costs n log n, not n squared.
  Acl unique;
  std::set<std::tuple<int32_t, std::string_view, std::string_view>> seen;
  for (const AclEntry& a : requested)
    if (seen.emplace(a.perms, a.scheme, a.id).second) unique.push_back(a);
  if (unique.empty()) return std::nullopt;
  Acl out;
  for (const AclEntry& a : unique) {
    if (a.scheme == "world" && a.id == "anyone") {
      out.push_back(a);
    } else if (a.scheme == "auth") {
      bool any = false;
      for (const Identity& id : identities)
        if (authenticated(id)) {
          any = true;
          out.push_back(AclEntry{a.perms, id.scheme, id.id});
        }
      if (!any) return std::nullopt;
    } else if ((a.scheme == "digest" && digest_id_valid(a.id)) ||
               (a.scheme == "ip" && ip_acl_valid(a.id))) {
      out.push_back(a);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool acl_permits(const Acl& stored, int32_t wanted, const std::vector<Identity>& identities) {
  if (stored.empty()) return true;  // world:anyone, all
  for (const Identity& id : identities)
    if (id.scheme == "super") return true;
  for (const AclEntry& a : stored) {
    if ((a.perms & wanted) == 0) continue;
    if (a.scheme == "world" && a.id == "anyone") return true;
    for (const Identity& id : identities) {
      if (id.scheme != a.scheme) continue;
      if (a.scheme == "digest" && id.id == a.id) return true;
      if (a.scheme == "ip" && ip_acl_matches(id.id, a.id)) return true;
    }
  }
  return false;
}

void append_packed_acl(std::string& out, const Acl& acl) {
  put_varint(out, acl.size());
  for (const AclEntry& a : acl) {
    put_signed(out, a.perms);
    put_text(out, a.scheme);
    put_text(out, a.id);
  }
}

bool read_packed_acl(VarintReader& in, Acl& out, size_t bytes_left) {
  uint64_t count = 0;
  if (!in.varint(count)) return false;
  out.clear();
  out.reserve(std::min<uint64_t>(count, bytes_left / 3));
  for (uint64_t i = 0; i < count; ++i) {
    int64_t perms = 0;
    std::string_view scheme, id;
    if (!in.signed_number(perms) || !in.text(scheme) || !in.text(id)) return false;
    if (perms < INT32_MIN || perms > INT32_MAX) return false;
    out.push_back(AclEntry{static_cast<int32_t>(perms), std::string(scheme), std::string(id)});
  }
  return true;
}

nlohmann::json acl_to_json(const Acl& acl) {
  nlohmann::json out = nlohmann::json::array();
  for (const AclEntry& a : effective_acl(acl))
    out.push_back({{"perms", a.perms}, {"scheme", a.scheme}, {"id", a.id}});
  return out;
}

Acl acl_as_read(const Acl& stored, bool admin) {
  Acl out = effective_acl(stored);
  if (!admin)
    for (AclEntry& a : out)
      if (a.scheme == "digest" && a.id.find(':') != std::string::npos)
        a.id = a.id.substr(0, a.id.find(':')) + ":x";
  return out;
}

namespace {
constexpr std::pair<char, int32_t> kLetters[] = {{'c', perm::kCreate},
                                                 {'d', perm::kDelete},
                                                 {'r', perm::kRead},
                                                 {'w', perm::kWrite},
                                                 {'a', perm::kAdmin}};
}  // namespace

std::string perms_letters(int32_t perms) {
  std::string out;
  for (const auto& [letter, bit] : kLetters)
    if (perms & bit) out.push_back(letter);
  return out;
}

std::optional<int32_t> perms_from_letters(std::string_view letters) {
  int32_t perms = 0;
  for (char ch : letters) {
    int32_t bit = 0;
    for (const auto& [letter, b] : kLetters)
      if (letter == ch) bit = b;
    if (bit == 0 || (perms & bit)) return std::nullopt;
    perms |= bit;
  }
  return perms;
}

}  // namespace fkemu
