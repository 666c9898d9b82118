// Any bytes as an HTTP request to fkemu serve: it answers (a status and a JSON body), never
// crashes, and a request it refuses leaves the state as it was.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "apps/server/server.h"

namespace {

fkemu::Server& server() {
  static fkemu::Server* s = [] {
    fkemu::ServerOptions o;
    o.quiet = true;
    o.admin_token = "fuzz";  // the corpus's admin requests carry it
    auto* srv = new fkemu::Server(o);
    // A session the inputs can name: its id and secret are random, so inputs mostly meet the
    // refusals; the corpus has requests of every shape.
    (void)srv->handle_raw(
        "POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
    return srv;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string answer =
      server().handle_raw(std::string_view(reinterpret_cast<const char*>(data), size));
  // Every answer starts with a three-digit status.
  if (answer.size() < 3 || answer[0] < '1' || answer[0] > '5') std::abort();
  return 0;
}
