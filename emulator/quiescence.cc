#include "emulator/quiescence.h"

#include <nlohmann/json.hpp>

#include "core/protocol/deployment.h"
#include "core/protocol/records.h"
#include "emulator/local_service.h"

namespace fkemu {

using json = nlohmann::json;

namespace {

// A lock left by a writer instance that was killed is no fault of the protocol: it expires
// after the lock lifetime. Any other lock left at quiescence is.
bool held_by_killed_instance(const Executor& ex, const Lockable& book) {
  if (!book.lock_owner) return false;
  const auto owner = LockOwner::parse(*book.lock_owner);
  return owner && ex.was_killed(static_cast<ProcessId>(owner->process));
}

std::string pending_list(const Lockable& book) { return json(book.pending).dump(); }

}  // namespace

std::vector<std::string> quiescence_problems(
    LocalService& service, const std::function<bool(const std::string&)>& dead_owner) {
  std::vector<std::string> problems;
  auto gone = [&](const Lockable& book) {
    return held_by_killed_instance(service.executor(), book) ||
           (dead_owner && dead_owner(book.lock_owner.value_or("")));
  };
  auto& sys = service.system_store();
  for (const auto& [path, item] : sys.scan(kNodesTable)) {
    const NodeRecord node = NodeRecord::from_item(item);
    if (!node.book.pending.empty())
      problems.push_back("node " + path + " still has pending updates " + pending_list(node.book));
    if (node.book.lock && !gone(node.book))
      problems.push_back("node " + path + " is still locked by " +
                         node.book.lock_owner.value_or("?"));
    auto object = service.user_store().get(path);
    std::optional<UserRecord> user;
    if (object) user = UserRecord::from_object(*object);
    if (user && !user->is_node()) user.reset();
    if (node.node.exists && !user) {
      problems.push_back("node " + path + " exists in the system store but not in the user store");
    } else if (node.node.exists) {
      if (user->stat != node.node.stat)
        problems.push_back("node " + path + ": user-store stat " + stat_to_json(user->stat).dump() +
                           " differs from system-store stat " +
                           stat_to_json(node.node.stat).dump());
      if (user->children != node.node.children)
        problems.push_back("node " + path + ": user-store children differ from the system store");
    }
  }
  for (const auto& [path, obj] : service.user_store().list()) {
    if (!UserRecord::from_object(*obj).is_node()) continue;
    auto item = sys.get(kNodesTable, path);
    if (!item || !NodeRecord::from_item(*item).node.exists)
      problems.push_back("node " + path + " exists in the user store but not in the system store");
  }
  for (const auto& [name, item] : sys.scan(kSessionsTable)) {
    const Lockable book = Lockable::from_item(item);
    if (book.lock && !gone(book))
      problems.push_back("session " + name + " is still locked by " +
                         book.lock_owner.value_or("?"));
    if (!book.pending.empty()) problems.push_back("session " + name + " still has pending updates");
  }
  if (service.writer_queue().visible_count() + service.writer_queue().in_flight_count() > 0)
    problems.push_back("the writer queue is not empty");
  if (service.distributor_queue().visible_count() + service.distributor_queue().in_flight_count() >
      0)
    problems.push_back("the distributor queue is not empty");
  return problems;
}

}  // namespace fkemu
