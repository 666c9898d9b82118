// Any bytes as a WebSocket message of an open session of fkemu serve (the handler behind the
// frames: operations, pongs, refusals): an answer or nothing, never a crash. A message that
// closes the session is followed by a new session.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/server/server.h"

namespace {

fkemu::Server& server() {
  static fkemu::Server* s = [] {
    fkemu::ServerOptions o;
    o.quiet = true;
    o.admin_token = "fuzz";
    return new fkemu::Server(o);
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string answer =
      server().handle_ws_raw(std::string_view(reinterpret_cast<const char*>(data), size));
  // An answer is a JSON object of type "result".
  if (!answer.empty()) {
    const auto j = nlohmann::json::parse(answer, nullptr, false);
    if (!j.is_object() || j.value("type", "") != "result") std::abort();
  }
  return 0;
}
