#include "core/model/path.h"

#include <cstdint>
#include <string>

#include "core/text/utf8.h"

namespace fkemu {
namespace {

// Java strings are UTF-16: code points above U+FFFF are surrogate pairs, which ZooKeeper's
// U+D800..U+F8FF range check rejects.
bool invalid_char(uint32_t c) {
  return (c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
         (c >= 0xfff0 && c <= 0xffff) || c > 0xffff;
}

// PathUtils.validatePath of ZooKeeper's Java client and server, character by character; its
// messages give the position as Java counts it, in UTF-16 code units.
Status check(std::string_view path) {
  if (path.empty()) return Status(Code::BadArguments, "path must not be empty");
  if (path[0] != '/') return Status(Code::BadArguments, "path must start with / character");
  if (path.size() == 1) return {};
  if (path.back() == '/') return Status(Code::BadArguments, "path must not end with / character");

  // One pass, code point by code point. Whether a '.' ends its name is decided by the next
  // decoded character, not the next byte: the decoder reads an overlong form such as C0 AF as
  // '/', as the old check did.
  auto refused = [](const char* what, size_t at) {
    return Status(Code::BadArguments, std::string(what) + " @" + std::to_string(at));
  };
  uint32_t before = '/';  // the code point before this one
  uint32_t before_that = 0;
  bool has_before_that = false;
  size_t at = 1;  // this code point's position in UTF-16 code units
  for (size_t i = 1; i < path.size();) {
    const uint32_t c = next_code_point(path, i);
    auto ends_component = [&path, i] {
      size_t next = i;
      return i == path.size() || next_code_point(path, next) == '/';
    };
    if (c == 0) return refused("null character not allowed", at);
    if (c == '/' && before == '/') return refused("empty node name specified", at);
    if (c == '.' && before == '.') {
      if (has_before_that && before_that == '/' && ends_component())
        return refused("relative paths not allowed", at);
    } else if (c == '.') {
      if (before == '/' && ends_component()) return refused("relative paths not allowed", at);
    } else if (invalid_char(c)) {
      return refused("invalid character", at);
    }
    before_that = before;
    has_before_that = true;
    before = c;
    at += c > 0xffff ? 2 : 1;
  }
  return {};
}

}  // namespace

Status validate_path(std::string_view path, bool sequential) {
  return sequential ? check(std::string(path) + "1") : check(path);
}

Status validate_client_path(std::string_view path, bool sequential) {
  return validate_path(path, sequential);
}

std::string parent_path(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string child_path(std::string_view parent, std::string_view name) {
  std::string p(parent);
  if (p != "/") p += '/';
  p += name;
  return p;
}

bool is_reserved_path(std::string_view path) {
  return path == kZooKeeperPath || (path.size() > kZooKeeperPath.size() &&
                                    path.substr(0, kZooKeeperPath.size() + 1) == "/zookeeper/");
}

}  // namespace fkemu
