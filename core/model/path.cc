#include "core/model/path.h"

#include <cstdint>
#include <vector>

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

  struct Char {
    uint32_t c;
    size_t at;  // UTF-16 position
  };
  std::vector<Char> chars;
  for (size_t i = 0, unit = 0; i < path.size();) {
    const uint32_t c = next_code_point(path, i);
    chars.push_back({c, unit});
    unit += c > 0xffff ? 2 : 1;
  }
  auto is = [&chars](size_t k, uint32_t c) { return k < chars.size() && chars[k].c == c; };
  for (size_t k = 1; k < chars.size(); ++k) {
    const uint32_t c = chars[k].c;
    const std::string at = std::to_string(chars[k].at);
    const bool ends_component = k + 1 == chars.size() || is(k + 1, '/');
    if (c == 0) return Status(Code::BadArguments, "null character not allowed @" + at);
    if (c == '/' && is(k - 1, '/'))
      return Status(Code::BadArguments, "empty node name specified @" + at);
    if (c == '.' && is(k - 1, '.')) {
      if (k >= 2 && is(k - 2, '/') && ends_component)
        return Status(Code::BadArguments, "relative paths not allowed @" + at);
    } else if (c == '.') {
      if (is(k - 1, '/') && ends_component)
        return Status(Code::BadArguments, "relative paths not allowed @" + at);
    } else if (invalid_char(c)) {
      return Status(Code::BadArguments, "invalid character @" + at);
    }
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
