#include "core/model/path.h"

#include <cstdint>

namespace fkemu {
namespace {

// Decodes one UTF-8 code point at s[i], advancing i. Invalid sequences decode as U+FFFD, which
// ZooKeeper also rejects (it is in the reserved U+FFF0..U+FFFF range).
uint32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = 0;
  uint32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    extra = 1;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return 0xfffd;
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) return 0xfffd;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3f);
  }
  return cp;
}

// Java strings are UTF-16: code points above U+FFFF are surrogate pairs, which ZooKeeper's
// U+D800..U+F8FF range check rejects.
bool invalid_server_char(uint32_t c) {
  return (c > 0x00 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
         (c >= 0xfff0 && c <= 0xffff) || c > 0xffff;
}

bool invalid_client_char(uint32_t c) { return c > 0x00 && c <= 0x1e; }

Status check(std::string_view path, bool (*invalid_char)(uint32_t)) {
  if (path.empty()) return {Code::BadArguments, "path must not be empty"};
  if (path[0] != '/') return {Code::BadArguments, "path must start with / character"};
  if (path.size() == 1) return {};
  if (path.back() == '/') return {Code::BadArguments, "path must not end with / character"};

  size_t component_start = 1;
  size_t i = 1;
  while (i < path.size()) {
    const size_t at = i;
    const uint32_t c = next_code_point(path, i);
    if (c == 0) return {Code::BadArguments, "null character not allowed @" + std::to_string(at)};
    if (c == '/') {
      const std::string_view comp = path.substr(component_start, at - component_start);
      if (comp.empty())
        return {Code::BadArguments, "empty node name specified @" + std::to_string(at)};
      if (comp == "." || comp == "..")
        return {Code::BadArguments, "relative paths not allowed @" + std::to_string(at)};
      component_start = i;
      continue;
    }
    if (invalid_char(c)) return {Code::BadArguments, "invalid character @" + std::to_string(at)};
  }
  const std::string_view last = path.substr(component_start);
  if (last == "." || last == "..")
    return {Code::BadArguments, "relative paths not allowed @" + std::to_string(component_start)};
  return {};
}

}  // namespace

Status validate_path(std::string_view path, bool sequential) {
  return sequential ? check(std::string(path) + "1", invalid_server_char)
                    : check(path, invalid_server_char);
}

Status validate_client_path(std::string_view path, bool sequential) {
  return sequential ? check(std::string(path) + "1", invalid_client_char)
                    : check(path, invalid_client_char);
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
