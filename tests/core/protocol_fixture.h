// A LocalService on a fresh executor with helpers to run one client operation to completion.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/runtime/block_on.h"
#include "emulator/local_service.h"

namespace fkemu::testing {

struct Fixture {
  explicit Fixture(uint64_t seed = 1, DeploymentConfig cfg = {})
      : ex(seed, std::make_unique<RandomScheduler>()), service(ex, cfg) {}

  ClientSession& session(const std::string& name) {
    if (auto* s = service.session(name)) return *s;
    ClientSession& s = service.open_session(name);
    const std::optional<Status> connected = block_on(ex, s.connect(), "connect");
    REQUIRE(connected.has_value());
    REQUIRE(connected->is_ok());
    return s;
  }

  // Runs op(session) in a process of its own and the executor until the run is quiet.
  OpResult run(const std::string& name, std::function<Task<OpResult>(ClientSession&)> op) {
    ClientSession& s = session(name);
    std::optional<OpResult> out = block_on(ex, op(s), "op");
    REQUIRE(out.has_value());
    return *out;
  }

  OpResult create(const std::string& s, const std::string& path, const std::string& data = "",
                  bool ephemeral = false, bool sequential = false) {
    return run(s, [=](ClientSession& c) { return c.create(path, data, ephemeral, sequential); });
  }
  OpResult get(const std::string& s, const std::string& path) {
    return run(s, [=](ClientSession& c) { return c.get_data(path, false); });
  }
  OpResult exists(const std::string& s, const std::string& path) {
    return run(s, [=](ClientSession& c) { return c.exists(path, false); });
  }
  OpResult children(const std::string& s, const std::string& path) {
    return run(s, [=](ClientSession& c) { return c.get_children(path, false); });
  }
  OpResult set(const std::string& s, const std::string& path, const std::string& data,
               int version = -1) {
    return run(s, [=](ClientSession& c) { return c.set_data(path, data, version); });
  }
  OpResult remove(const std::string& s, const std::string& path, int version = -1) {
    return run(s, [=](ClientSession& c) { return c.remove(path, version); });
  }
  OpResult close(const std::string& s) {
    return run(s, [](ClientSession& c) { return c.close(); });
  }

  Executor ex;
  LocalService service;
};

}  // namespace fkemu::testing
