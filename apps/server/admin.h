// The admin endpoints of fkemu serve (docs/api.md, Admin): reset, dump, counters, check, faults
// and latency, with the counters they report, and the admin token that guards them. Requests that
// change state need the token; beyond loopback every admin request does.
//
// The request handler (request_handler.h) routes /admin/ requests here and counts every request
// and operation here. Used on the server's I/O thread only, or, with no I/O running, on the
// caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/server/api_types.h"
#include "core/status.h"

namespace fkemu {

class ExecutorLoop;
class LocalService;
class SessionRegistry;

// The whole state of a deployment as JSON: the system tables, the user store and the queues,
// binary values in base64 (GET /admin/dump, fkemu serve --inspect).
nlohmann::json dump_state(LocalService& service);

struct AdminToken {
  std::string token;
  std::string file;  // where it was written ("" if nowhere)
};
// The admin token: `given`, or a random one written (mode 0600) to `file`, or, if that is empty,
// beside `state_file`; if both are empty it is written nowhere.
Result<AdminToken> make_admin_token(const std::string& given, const std::string& file,
                                    const std::string& state_file);

class Admin {
 public:
  Admin(ExecutorLoop& loop, SessionRegistry& sessions);

  // Set once at start, before anything is served: the token, and whether the server listens on
  // loopback only.
  void set_access(std::string token, bool loopback);

  // More counters, under `name` in /admin/counters (the ZooKeeper listener's).
  void add_counters(std::string name, std::function<nlohmann::json()> source) {
    more_counters_.emplace_back(std::move(name), std::move(source));
  }

  void count_request() { ++requests_; }
  void count_operation(const std::string& op) { ++operations_[op]; }

  // Answers a request whose path starts with /admin/.
  void handle(const Request& req, const std::string& path, const Respond& respond);

 private:
  bool refused(const Request& req, const Respond& respond) const;
  void reset();
  nlohmann::json counters() const;
  nlohmann::json latency() const;
  void put_faults(const nlohmann::json& body, const Respond& respond);
  void put_latency(const nlohmann::json& body, const Respond& respond);

  ExecutorLoop& loop_;
  SessionRegistry& sessions_;
  std::string token_;
  bool loopback_ = true;
  uint64_t requests_ = 0;
  std::map<std::string, uint64_t> operations_;
  std::vector<std::pair<std::string, std::function<nlohmann::json()>>> more_counters_;
};

}  // namespace fkemu
