// ZooKeeper's digest authentication: the identity `addauth digest user:password` gives a
// session, "user:base64(sha1(user:password))", as its DigestAuthenticationProvider computes it
// (the id a digest ACL entry names). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/model/acl.h"

namespace fkemu {

// SHA-1 of `data`: its 20 raw bytes.
std::string sha1(std::string_view data);

// The identity of `addauth digest <user_password>` (user:password; the user is what comes
// before the first colon).
Identity digest_identity(std::string_view user_password);

}  // namespace fkemu
