// ZooKeeper path rules.
//
// One rule, ZooKeeper's PathUtils.validatePath, as the Java client applies it to every operation
// before sending anything (and the server to creates): empty, no leading '/', trailing '/',
// empty component, '.' or '..' component, and the code points U+0000-U+001F, U+007F-U+009F,
// U+D800-U+F8FF (so everything outside the BMP) and U+FFF0-U+FFFF. The C client checks fewer
// characters (0x01-0x1e); fkemu's client checks as the Java client does (docs/decisions.md).
// For a sequential create the path is validated with a suffix appended, so a trailing '/' or a
// last component "." is allowed there. The message names the rule and the position, in UTF-16
// code units as ZooKeeper counts it.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace fkemu {

Status validate_path(std::string_view path, bool sequential = false);
// The same rule, where a client applies it (kept as its own name for the places that model the
// client).
Status validate_client_path(std::string_view path, bool sequential = false);

// Parent of an absolute, valid, non-root path ("/a/b" -> "/a", "/a" -> "/").
std::string parent_path(std::string_view path);
// Last component ("/a/b" -> "b").
std::string base_name(std::string_view path);
// "/" + "b" -> "/b"; "/a" + "b" -> "/a/b".
std::string child_path(std::string_view parent, std::string_view name);

// ZooKeeper's own subtree, which clients may read but not change.
inline constexpr std::string_view kZooKeeperPath = "/zookeeper";
bool is_reserved_path(std::string_view path);

}  // namespace fkemu
