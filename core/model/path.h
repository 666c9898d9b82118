// ZooKeeper path rules.
//
// Two rule sets, as measured on ZooKeeper 3.8 (docs/zookeeper-facts.md):
//   * validate_client_path(): what the ZooKeeper C client refuses before sending anything, for
//     every operation: empty, no leading '/', trailing '/', empty component, '.' or '..'
//     component, NUL and bytes 0x01-0x1e.
//   * validate_path(): the server's PathUtils.validatePath, applied to creates only (after the
//     parent lookup): the structural rules plus the code points U+0001-U+001F, U+007F-U+009F,
//     U+D800-U+F8FF (and so everything outside the BMP) and U+FFF0-U+FFFF.
// For a sequential create both validate the path with a suffix appended, so a trailing '/' or
// a last component "." is allowed there. The error message names the rule that was broken.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace fkemu {

Status validate_path(std::string_view path, bool sequential = false);
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
