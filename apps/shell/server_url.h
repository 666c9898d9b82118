// The address of an fkemu serve, as the shell's users write it: "http://HOST:PORT",
// "HOST:PORT", "HOST" (port 8980), "[IPv6]:PORT", a trailing "/" allowed.
//
// parse_server_url is pure (no resolving, no I/O) and may be called from any thread. A Url it
// returns has a non-empty host and a port of 1 to 65535 in decimal digits.
#pragma once

#include <string>

#include "core/status.h"

namespace fkemu::shell_client {

struct Url {
  std::string host;  // an IPv6 address without its brackets
  std::string port = "8980";

  // "HOST:PORT", with an IPv6 host in brackets: the Host header, the prompt.
  std::string host_port() const;
  // "http://HOST:PORT".
  std::string text() const;
};

// The Url of `s`; BadArguments with a sentence naming `s` and the problem if it is not one.
Result<Url> parse_server_url(const std::string& s);

}  // namespace fkemu::shell_client
