// TestServer: fkemu serve on a free loopback port, run on its own thread for a test's lifetime.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "apps/server/server.h"

namespace fkemu {

struct TestServer {
  explicit TestServer(ServerOptions o = {}) : server(prepare(o)) {
    REQUIRE(server.start().is_ok());
    port = server.port();
    thread = std::thread([this] { server.run(); });
  }
  ~TestServer() {
    server.stop();
    thread.join();
  }
  static ServerOptions prepare(ServerOptions o) {
    o.port = 0;
    o.quiet = true;
    return o;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  Server server;
  uint16_t port = 0;
  std::thread thread;
};

}  // namespace fkemu
