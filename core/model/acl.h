// ZooKeeper's access control lists, as its server applies them (decision 50): a node's ACL is a
// list of (permissions, scheme, id); a session has identities (scheme, id) from its connection
// and its `addauth`. The writer checks writes and the client library checks reads against the
// ACL that the system store and the user store keep with each node.
//
// Pure functions; no clock, no I/O.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/text/varint.h"

namespace fkemu {

// ZooKeeper's permission bits (ZooDefs.Perms).
namespace perm {
inline constexpr int32_t kRead = 1;
inline constexpr int32_t kWrite = 2;
inline constexpr int32_t kCreate = 4;
inline constexpr int32_t kDelete = 8;
inline constexpr int32_t kAdmin = 16;
inline constexpr int32_t kAll = 31;
}  // namespace perm

// Who a session is: ("ip", "127.0.0.1"), ("digest", "user:base64(sha1(user:password))"), or
// ("super", "") for the super user.
struct Identity {
  std::string scheme;
  std::string id;
  bool operator==(const Identity&) const = default;
};

struct AclEntry {
  int32_t perms = perm::kAll;
  std::string scheme;
  std::string id;
  bool operator==(const AclEntry&) const = default;
};

// A node's ACL. The empty list stands for world:anyone with every permission (ZooKeeper's
// OPEN_ACL_UNSAFE), which is what nearly every node has: such a node stores no ACL at all.
// ZooKeeper never stores an empty list (it refuses one as InvalidACL), so nothing is lost.
using Acl = std::vector<AclEntry>;

// world:anyone, all permissions.
const Acl& open_acl();
// The stored form: the empty list for OPEN_ACL_UNSAFE, the list itself otherwise.
Acl stored_acl(Acl acl);
// What a node's stored ACL means: open_acl() for the empty list.
const Acl& effective_acl(const Acl& stored);

// ZooKeeper's fixupACL: repeats dropped; `auth` expanded into one entry per authenticated
// identity of the session (digest; not ip, not super); every other entry must be world:anyone
// or a valid digest (user:hash) or ip (address[/bits]) id. nullopt: InvalidACL (an empty list,
// an unknown scheme, a malformed id, `auth` without an authenticated identity).
std::optional<Acl> fixup_acl(const Acl& requested, const std::vector<Identity>& identities);

// ZooKeeper's checkACL: whether `identities` may do `wanted` (one or more perm bits) on a node
// with `stored` (stored form). The super identity may do everything.
bool acl_permits(const Acl& stored, int32_t wanted, const std::vector<Identity>& identities);

// The ACL getACL answers for a node with `stored`: its effective list, each digest's hash hidden
// ("user:x") from a session without ADMIN on it, as ZooKeeper hides it.
Acl acl_as_read(const Acl& stored, bool admin);
// zkCli's letters for a permission set ("cdrwa", in that order), and back (any order; nullopt
// for a letter not among them, or one given twice).
std::string perms_letters(int32_t perms);
std::optional<int32_t> perms_from_letters(std::string_view letters);

// ZooKeeper's IP provider: an IPv4 address, optionally with a prefix length ("10.0.0.0/8").
bool ip_acl_valid(std::string_view expr);
bool ip_acl_matches(std::string_view address, std::string_view expr);

// The packed form inside a node's and a user record's packed bytes: the count, then per entry
// its permissions (zig-zag), scheme and id (texts). read_packed_acl returns false on a cut.
void append_packed_acl(std::string& out, const Acl& acl);
bool read_packed_acl(VarintReader& in, Acl& out, size_t bytes_left);

// [{"perms": 31, "scheme": "world", "id": "anyone"}, ...], for dumps.
nlohmann::json acl_to_json(const Acl& acl);

}  // namespace fkemu
