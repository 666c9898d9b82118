// ClientSession: the FaaSKeeper client library's logic for one session.
//
// Writes go into the writer queue (deduplication id = session:request number, one FIFO group
// for all writes or one per session) and complete when the distributor's answer arrives. Reads
// go straight to the user store. Answers are released to the caller in request order, whatever
// order they arrive in. Paths are validated and data sizes checked here, before anything is
// sent, as ZooKeeper's client does.
//
// Runs on the deployment's executor; deliver() is called by the client channel.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/runtime/mailbox.h"
#include "core/runtime/task.h"
#include "core/status.h"

namespace fkemu {

// The answer to one operation. `fields` holds what the history records for it
// (SCENARIOS.md): path, stat, children; `data` holds get_data's bytes.
struct OpResult {
  Status status;
  nlohmann::json fields = nlohmann::json::object();
  std::string data;
  bool has_data = false;
  int64_t zxid = 0;  // the update's zxid for writes
};

class ClientSession {
 public:
  ClientSession(Deployment& d, std::string name);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  const std::string& name() const { return name_; }
  bool closed() const { return closed_; }

  // Registers the session in the system store.
  Task<Status> connect();

  Task<OpResult> create(std::string path, std::string data, bool ephemeral, bool sequential);
  Task<OpResult> get_data(std::string path, bool watch);
  Task<OpResult> exists(std::string path, bool watch);
  Task<OpResult> get_children(std::string path, bool watch);
  Task<OpResult> set_data(std::string path, std::string data, int version);
  Task<OpResult> remove(std::string path, int version);
  Task<OpResult> close();

  // A message from the client channel: an answer, a watch event or a ping.
  void deliver(const nlohmann::json& message);

 private:
  using Fields = nlohmann::json;
  Task<OpResult> write(nlohmann::json request);
  Task<OpResult> read(std::string path, const char* op);
  // Waits until every operation issued before `ticket` has been released.
  Task<void> release_in_order(uint64_t ticket);
  std::optional<OpResult> check_path(const std::string& path, bool sequential) const;

  Deployment& d_;
  std::string name_;
  bool closed_ = false;
  int64_t next_req_ = 1;
  uint64_t next_ticket_ = 1;
  uint64_t released_ = 0;
  Event turn_;
  std::map<int64_t, std::unique_ptr<Mailbox<nlohmann::json>>> waiting_;
};

}  // namespace fkemu
