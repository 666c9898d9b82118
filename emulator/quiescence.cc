#include "emulator/quiescence.h"

#include <nlohmann/json.hpp>

#include "core/protocol/deployment.h"
#include "emulator/local_service.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

// A lock left by a writer instance that was killed is no fault of the protocol: it expires
// after the lock lifetime. Any other lock left at quiescence is (lock owners are
// "a<attempt>@<process>", core/protocol/writer.cc).
bool held_by_killed_instance(const Executor& ex, const json& item) {
  const std::string owner = item.value("lock_owner", std::string());
  const auto at = owner.find('@');
  if (at == std::string::npos) return false;
  try {
    return ex.was_killed(static_cast<ProcessId>(std::stoull(owner.substr(at + 1))));
  } catch (...) {
    return false;
  }
}

}  // namespace

std::vector<std::string> quiescence_problems(
    LocalService& service, const std::function<bool(const std::string&)>& dead_owner) {
  std::vector<std::string> problems;
  auto gone = [&](const json& item) {
    return held_by_killed_instance(service.executor(), item) ||
           (dead_owner && dead_owner(item.value("lock_owner", std::string())));
  };
  auto& sys = service.system_store();
  for (const auto& [path, item] : sys.scan(kNodesTable)) {
    if (item.contains("pending") && !item["pending"].empty())
      problems.push_back("node " + path + " still has pending updates " + item["pending"].dump());
    if (item.contains("lock") && !gone(item))
      problems.push_back("node " + path + " is still locked by " +
                         item.value("lock_owner", std::string("?")));
    const bool exists = item.value("exists", false);
    auto user = service.user_store().get(path);
    if (user && user->contains("tombstone")) user.reset();
    if (exists && !user) {
      problems.push_back("node " + path + " exists in the system store but not in the user store");
    } else if (exists) {
      if ((*user)["stat"] != item["stat"])
        problems.push_back("node " + path + ": user-store stat " + (*user)["stat"].dump() +
                           " differs from system-store stat " + item["stat"].dump());
      if ((*user)["children"] != item["children"])
        problems.push_back("node " + path + ": user-store children differ from the system store");
    }
  }
  for (const auto& [path, obj] : service.user_store().list()) {
    if (obj.contains("tombstone")) continue;
    auto item = sys.get(kNodesTable, path);
    if (!item || !item->value("exists", false))
      problems.push_back("node " + path + " exists in the user store but not in the system store");
  }
  for (const auto& [name, item] : sys.scan(kSessionsTable)) {
    if (item.contains("lock") && !gone(item))
      problems.push_back("session " + name + " is still locked by " +
                         item.value("lock_owner", std::string("?")));
    if (item.contains("pending") && !item["pending"].empty())
      problems.push_back("session " + name + " still has pending updates");
  }
  if (service.writer_queue().visible_count() + service.writer_queue().in_flight_count() > 0)
    problems.push_back("the writer queue is not empty");
  if (service.distributor_queue().visible_count() + service.distributor_queue().in_flight_count() >
      0)
    problems.push_back("the distributor queue is not empty");
  return problems;
}

}  // namespace fkemu
