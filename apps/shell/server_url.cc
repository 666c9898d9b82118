#include "apps/shell/server_url.h"

#include <cctype>

namespace fkemu::shell_client {

std::string Url::host_port() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

std::string Url::text() const { return "http://" + host_port(); }

Result<Url> parse_server_url(const std::string& original) {
  auto refused = [&original](const char* expected) {
    return Status(Code::BadArguments, "not a server URL: \"" + original + "\" (" + expected + ")");
  };
  const char* kExpected = "expected http://HOST:PORT";
  std::string s = original;
  if (const size_t p = s.find("://"); p != std::string::npos) {
    std::string scheme = s.substr(0, p);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "ws") {
      return refused("only http:// is supported");
    }
    s = s.substr(p + 3);
  }
  if (const size_t slash = s.find('/'); slash != std::string::npos) {
    if (s.substr(slash) != "/") return refused(kExpected);
    s = s.substr(0, slash);
  }
  Url u;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos) return refused(kExpected);
    u.host = s.substr(1, close - 1);
    const std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return refused(kExpected);
      u.port = rest.substr(1);
    }
  } else if (const size_t colon = s.rfind(':'); colon != std::string::npos) {
    if (s.find(':') != colon) return refused(kExpected);  // an IPv6 address goes in brackets
    u.host = s.substr(0, colon);
    u.port = s.substr(colon + 1);
  } else {
    u.host = s;
  }
  if (u.host.empty()) return refused(kExpected);
  // At most 5 digits before stoi, which would throw on a longer one.
  if (u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(u.port) < 1 ||
      std::stoi(u.port) > 65535) {
    return refused("the port must be a number from 1 to 65535");
  }
  return u;
}

}  // namespace fkemu::shell_client
