// The FaaSKeeper protocol end to end on in-memory fakes: every op's answers and errors, stat
// evolution, sequential names, and the writer/distributor fault cases of FaaSKeeper's design
// (docs/design-notes.md).
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "core/model/stat.h"
#include "core/protocol/update.h"
#include "tests/core/protocol_fixture.h"

using namespace fkemu;
using fkemu::testing::Fixture;

namespace {
Stat stat_of(const OpResult& r) { return stat_from_json(r.fields().at("stat")); }
Code code(const OpResult& r) { return r.status.code(); }
}  // namespace

TEST_CASE("create, get, set, delete round trip", "[protocol]") {
  Fixture f;
  auto c = f.create("a", "/node", "hello");
  REQUIRE(c.status.is_ok());
  CHECK(c.fields().at("path") == "/node");
  auto g = f.get("a", "/node");
  REQUIRE(g.status.is_ok());
  CHECK(g.data == "hello");
  CHECK(stat_of(g).data_length == 5);
  auto s = f.set("a", "/node", "bye!!!");
  REQUIRE(s.status.is_ok());
  CHECK(stat_of(s).version == 1);
  CHECK(stat_of(s).data_length == 6);
  CHECK(f.get("a", "/node").data == "bye!!!");
  CHECK(f.remove("a", "/node").status.is_ok());
  CHECK(code(f.get("a", "/node")) == Code::NoNode);
  CHECK(f.exists("a", "/node").fields().at("stat").is_null());
}

TEST_CASE("error paths of create", "[protocol][errors]") {
  Fixture f;
  CHECK(code(f.create("a", "/missing/child")) == Code::NoNode);
  REQUIRE(f.create("a", "/x").status.is_ok());
  CHECK(code(f.create("a", "/x")) == Code::NodeExists);
  REQUIRE(f.create("a", "/eph", "", /*ephemeral=*/true).status.is_ok());
  CHECK(code(f.create("a", "/eph/child")) == Code::NoChildrenForEphemerals);
  CHECK(code(f.create("a", "bad")) == Code::BadArguments);
  CHECK(code(f.create("a", "/x/")) == Code::BadArguments);
  CHECK(code(f.create("a", "/")) == Code::NodeExists);  // the server answers, as ZooKeeper's does
  // Characters of ZooKeeper's path rule are refused by the client for every operation, as the
  // Java client refuses them (decision 33), before any parent lookup.
  CHECK(code(f.create("a", "/x/a\x1f")) == Code::BadArguments);
  CHECK(code(f.create("a", "/nope/a\x1f")) == Code::BadArguments);
  CHECK(code(f.exists("a", "/x/a\x7f")) == Code::BadArguments);
  CHECK(code(f.create("a", "/big", std::string(1024 * 1024 + 1, 'x'))) == Code::MarshallingError);
  CHECK(f.create("a", "/exactly-1MiB", std::string(1024 * 1024, 'x')).status.is_ok());
  // NoNode of the parent wins over a bad name only after the path itself is valid.
  CHECK(code(f.create("a", "/missing//x")) == Code::BadArguments);
}

TEST_CASE("error paths of delete in ZooKeeper's order", "[protocol][errors]") {
  Fixture f;
  CHECK(code(f.remove("a", "/")) == Code::BadArguments);
  for (const char* own : {"/zookeeper", "/zookeeper/config", "/zookeeper/quota"})
    CHECK(code(f.remove("a", own)) == Code::BadArguments);
  CHECK(code(f.remove("a", "/nope")) == Code::NoNode);
  CHECK(code(f.remove("a", "/nope", 5)) == Code::NoNode);  // NoNode before BadVersion
  REQUIRE(f.create("a", "/p").status.is_ok());
  REQUIRE(f.create("a", "/p/c").status.is_ok());
  CHECK(code(f.remove("a", "/p", 3)) == Code::BadVersion);  // BadVersion before NotEmpty
  CHECK(code(f.remove("a", "/p")) == Code::NotEmpty);
  CHECK(code(f.remove("a", "/p/c", 1)) == Code::BadVersion);
  CHECK(f.remove("a", "/p/c", 0).status.is_ok());
  CHECK(f.remove("a", "/p", 0).status.is_ok());
}

TEST_CASE("error paths of set_data and reads", "[protocol][errors]") {
  Fixture f;
  CHECK(code(f.set("a", "/nope", "x")) == Code::NoNode);
  CHECK(code(f.set("a", "/nope", "x", 3)) == Code::NoNode);
  REQUIRE(f.create("a", "/n").status.is_ok());
  CHECK(code(f.set("a", "/n", "x", 1)) == Code::BadVersion);
  CHECK(f.set("a", "/n", "x", 0).status.is_ok());
  CHECK(f.set("a", "/n", "y", 1).status.is_ok());
  CHECK(code(f.set("a", "/n", "z", 1)) == Code::BadVersion);
  CHECK(code(f.set("a", "/n", std::string(1024 * 1024 + 1, 'x'))) == Code::MarshallingError);
  CHECK(code(f.get("a", "/nope")) == Code::NoNode);
  CHECK(code(f.children("a", "/nope")) == Code::NoNode);
  CHECK(code(f.get("a", "no-slash")) == Code::BadArguments);
  CHECK(code(f.exists("a", "/a/")) == Code::BadArguments);
  CHECK(code(f.children("a", "/a//b")) == Code::BadArguments);
}

TEST_CASE("stat evolution over creates, deletes and sets", "[protocol][stat]") {
  Fixture f;
  auto c1 = f.create("a", "/p", "abc");
  const int64_t z1 = c1.zxid;
  Stat p = stat_of(f.exists("a", "/p"));
  CHECK(p.czxid == z1);
  CHECK(p.mzxid == z1);
  CHECK(p.pzxid == z1);
  CHECK(p.version == 0);
  CHECK(p.cversion == 0);
  CHECK(p.num_children == 0);
  CHECK(p.data_length == 3);
  CHECK_FALSE(p.ephemeral_owner.has_value());

  const int64_t z2 = f.create("a", "/p/a").zxid;
  const int64_t z3 = f.create("a", "/p/b").zxid;
  CHECK(z1 < z2);
  CHECK(z2 < z3);
  p = stat_of(f.exists("a", "/p"));
  CHECK(p.cversion == 2);
  CHECK(p.num_children == 2);
  CHECK(p.pzxid == z3);
  CHECK(p.mzxid == z1);  // children changes do not touch the parent's data version

  const int64_t z4 = f.remove("a", "/p/a").zxid;
  p = stat_of(f.exists("a", "/p"));
  CHECK(p.cversion == 3);  // ZooKeeper's reported cversion counts deletes too
  CHECK(p.num_children == 1);
  CHECK(p.pzxid == z4);

  const int64_t z5 = f.set("a", "/p", "defg").zxid;
  p = stat_of(f.exists("a", "/p"));
  CHECK(p.version == 1);
  CHECK(p.mzxid == z5);
  CHECK(p.czxid == z1);
  CHECK(p.pzxid == z4);
  CHECK(p.data_length == 4);

  auto kids = f.children("a", "/p");
  CHECK(kids.fields().at("children") == nlohmann::json::array({"b"}));
  CHECK(stat_from_json(kids.fields().at("stat")) == p);
}

TEST_CASE("sequential names count creates, not deletes", "[protocol][sequential]") {
  Fixture f;
  REQUIRE(f.create("a", "/q").status.is_ok());
  CHECK(f.create("a", "/q/n-", "", false, true).fields().at("path") == "/q/n-0000000000");
  CHECK(f.create("a", "/q/n-", "", false, true).fields().at("path") == "/q/n-0000000001");
  REQUIRE(f.create("a", "/q/plain").status.is_ok());
  REQUIRE(f.remove("a", "/q/n-0000000000").status.is_ok());
  REQUIRE(f.remove("a", "/q/n-0000000001").status.is_ok());
  CHECK(f.create("a", "/q/n-", "", false, true).fields().at("path") == "/q/n-0000000003");
  // A trailing slash is allowed for a sequential create: the name is the suffix alone.
  CHECK(f.create("a", "/q/", "", false, true).fields().at("path") == "/q/0000000004");
  // A sequential name that already exists is NodeExists.
  REQUIRE(f.create("a", "/r").status.is_ok());
  REQUIRE(f.create("a", "/r/x0000000001").status.is_ok());  // the first create: suffix 1 is next
  CHECK(code(f.create("a", "/r/x", "", false, true)) == Code::NodeExists);
}

TEST_CASE("ephemeral nodes record their owner and vanish on close", "[protocol][sessions]") {
  Fixture f;
  REQUIRE(f.create("a", "/e", "", true).status.is_ok());
  REQUIRE(f.create("a", "/keep").status.is_ok());
  CHECK(stat_of(f.exists("b", "/e")).ephemeral_owner == std::optional<std::string>("a"));
  CHECK_FALSE(stat_of(f.exists("b", "/keep")).ephemeral_owner.has_value());
  REQUIRE(f.close("a").status.is_ok());
  CHECK(f.exists("b", "/e").fields().at("stat").is_null());
  CHECK_FALSE(f.exists("b", "/keep").fields().at("stat").is_null());
  CHECK(code(f.get("a", "/keep")) == Code::SessionExpired);
  CHECK(code(f.create("a", "/again")) == Code::SessionExpired);
  CHECK(f.close("a").status.is_ok());  // closing twice does nothing, as in ZooKeeper
}

TEST_CASE("the initial tree is ZooKeeper's", "[protocol]") {
  Fixture f;
  auto root = f.children("a", "/");
  CHECK(root.fields().at("children") == nlohmann::json::array({"zookeeper"}));
  CHECK(stat_of(root).cversion == -1);
  auto zk = f.children("a", "/zookeeper");
  CHECK(zk.fields().at("children") == nlohmann::json::array({"config", "quota"}));
  CHECK(stat_of(zk).cversion == -2);
  CHECK(stat_of(f.exists("a", "/zookeeper/config")).aversion == -1);
  // The first sequential child of the root gets suffix 0: the built-in child was not created.
  CHECK(f.create("a", "/", "", false, true).fields().at("path") == "/0000000000");
  CHECK(stat_of(f.exists("a", "/")).cversion == 0);
  REQUIRE(f.create("a", "/zookeeper/x").status.is_ok());
  CHECK(stat_of(f.exists("a", "/zookeeper")).cversion == -1);
}

TEST_CASE("writer killed between push and commit: the distributor commits on its behalf",
          "[protocol][faults]") {
  Fixture f;
  f.session("a");
  bool killed = false;
  f.ex.set_resume_hook([&](const ReadyEntry& e) {
    // The writer's commit is its first transaction after the push.
    if (!killed && e.label == "kv.transact" && f.ex.process_name(e.pid).starts_with("writer#")) {
      killed = true;
      return true;
    }
    return false;
  });
  auto r = f.create("a", "/n", "v");
  CHECK(killed);
  REQUIRE(r.status.is_ok());
  CHECK(r.fields().at("path") == "/n");
  f.ex.set_resume_hook(nullptr);
  CHECK(f.get("a", "/n").data == "v");
  // The redelivered request after the visibility timeout is recognised and not applied again.
  CHECK(f.ex.now() >= f.service.deployment().config.visibility_timeout);
  CHECK(stat_of(f.exists("a", "/")).cversion == 0);
  CHECK(f.service.writer_invocations() == 2);
  CHECK(f.create("a", "/m").status.is_ok());
}

TEST_CASE("writer killed after commit: the client still gets one success", "[protocol][faults]") {
  Fixture f;
  REQUIRE(f.create("a", "/n").status.is_ok());
  int transacts = 0;
  bool killed = false;
  f.ex.set_resume_hook([&](const ReadyEntry& e) {
    if (!f.ex.process_name(e.pid).starts_with("writer#")) return false;
    if (e.label == "kv.transact") ++transacts;
    // Resumption after the commit: the instance's next step is deleting the message.
    if (!killed && e.label == "queue.delete") {
      killed = true;
      return true;
    }
    return false;
  });
  auto r = f.set("a", "/n", "x");
  CHECK(killed);
  REQUIRE(r.status.is_ok());
  CHECK(stat_of(r).version == 1);
  f.ex.set_resume_hook(nullptr);
  CHECK(transacts == 1);
  CHECK(stat_of(f.exists("a", "/n")).version == 1);  // applied once
}

TEST_CASE("writer killed after deciding an error still answers it", "[protocol][faults]") {
  Fixture f;
  f.session("a");
  bool killed = false;
  f.ex.set_resume_hook([&](const ReadyEntry& e) {
    if (!killed && e.label == "channel.send" && f.ex.process_name(e.pid).starts_with("writer#")) {
      killed = true;
      return true;
    }
    return false;
  });
  auto r = f.remove("a", "/does-not-exist");
  CHECK(killed);
  CHECK(code(r) == Code::NoNode);
  f.ex.set_resume_hook(nullptr);
  CHECK(f.create("a", "/does-not-exist").status.is_ok());
}

TEST_CASE("distributor killed after applying: redelivery is applied once and answered",
          "[protocol][faults]") {
  Fixture f;
  REQUIRE(f.create("a", "/n").status.is_ok());
  bool killed = false;
  f.ex.set_resume_hook([&](const ReadyEntry& e) {
    if (!killed && e.label == "channel.send" &&
        f.ex.process_name(e.pid).starts_with("distributor#")) {
      killed = true;
      return true;
    }
    return false;
  });
  auto r = f.set("a", "/n", "once");
  CHECK(killed);
  REQUIRE(r.status.is_ok());
  CHECK(stat_of(r).version == 1);
  f.ex.set_resume_hook(nullptr);
  CHECK(stat_of(f.exists("a", "/n")).version == 1);
  CHECK(f.service.distributor_invocations() >= 3);
}

TEST_CASE("a request delivered twice is applied once", "[protocol][faults]") {
  Fixture f;
  f.session("a");
  REQUIRE(f.create("a", "/n").status.is_ok());
  // Deliver the same request again under another deduplication id, as a retried send would.
  const Value again = WriteRequest{"a", 2, CreateRequest{"/dup", Bytes()}}.to_message();
  auto r = f.set("a", "/n", "x");  // request 2
  REQUIRE(r.status.is_ok());
  (void)f.service.writer_queue().send("writes", "a:2:retry", again);
  f.ex.run();
  CHECK(f.exists("a", "/dup").fields().at("stat").is_null());
  CHECK(stat_of(f.exists("a", "/n")).version == 1);
}

TEST_CASE("the same deduplication id within five minutes enqueues nothing", "[protocol][faults]") {
  Fixture f;
  f.session("a");
  const Value req = WriteRequest{"a", 1, CreateRequest{"/d", Bytes()}}.to_message();
  auto first = f.service.writer_queue().send("writes", "a:1", req);
  auto second = f.service.writer_queue().send("writes", "a:1", req);
  REQUIRE(first.is_ok());
  REQUIRE(second.is_ok());
  CHECK(second->duplicate);
  CHECK(second->sequence == first->sequence);
  f.ex.run();
  CHECK(f.service.writer_invocations() == 1);
}

TEST_CASE("system and user stores agree after a mixed workload", "[protocol]") {
  Fixture f(5);
  REQUIRE(f.create("a", "/w").status.is_ok());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(f.create("a", "/w/n-", std::to_string(i), i % 2 == 0, true).status.is_ok());
    REQUIRE(f.set("b", "/w", std::to_string(i)).status.is_ok());
  }
  REQUIRE(f.remove("a", "/w/n-0000000003").status.is_ok());
  REQUIRE(f.close("a").status.is_ok());
  auto kids = f.children("b", "/w");
  CHECK(kids.fields().at("children") ==
        nlohmann::json::array({"n-0000000001", "n-0000000005", "n-0000000007", "n-0000000009"}));
  for (const auto& [path, item] : f.service.system_store().scan(kNodesTable)) {
    INFO(path);
    CHECK_FALSE(item.contains("lock"));
    CHECK(item.strings_of("pending").empty());
    auto user = f.service.user_store().get(path);
    const bool user_node = user && !user->contains(attr::kTombstone);
    const NodeRecord node = NodeRecord::from_item(item);
    CHECK(user_node == node.node.exists);
    if (user_node) CHECK(UserRecord::from_object(*user).stat == node.node.stat);
  }
}

// A registration may learn of a change later than the first change after the version it read
// (the watch looks of the changes in between ran before it was registered): the event is the
// first change's, decided by what the registration saw. Found by explore on watch-race (an
// exists watch on a missing node fired NodeDataChanged for a later set instead of NodeCreated).
TEST_CASE("the event a registration fires is decided by what it saw", "[protocol][watch]") {
  const Trigger created{"/n", {WatchType::Data}, EventType::NodeCreated, 7};
  const Trigger set{"/n", {WatchType::Data}, EventType::NodeDataChanged, 3};
  const Trigger deleted{"/n", {WatchType::Data, WatchType::Child}, EventType::NodeDeleted, {}};
  const Trigger children{"/n", {WatchType::Child}, EventType::NodeChildrenChanged, 3};
  const auto D = WatchType::Data;
  const auto C = WatchType::Child;
  // exists on a missing node: whatever comes first is its creation.
  CHECK(event_for(D, false, 0, created) == EventType::NodeCreated);
  CHECK(event_for(D, false, 0, set) == EventType::NodeCreated);
  CHECK(event_for(D, false, 2, deleted) == EventType::NodeCreated);
  // set on the version read (mzxid 4 of a node created at 3).
  CHECK(event_for(D, true, 4, set) == EventType::NodeDataChanged);
  CHECK(event_for(D, true, 4, deleted) == EventType::NodeDeleted);
  // The node was deleted and created again since (czxid 7 > 4): its deletion came first.
  CHECK(event_for(D, true, 4, created) == EventType::NodeDeleted);
  CHECK(event_for(D, true, 4, Trigger{"/n", {D}, EventType::NodeDataChanged, 7}) ==
        EventType::NodeDeleted);
  CHECK(event_for(C, true, 4, children) == EventType::NodeChildrenChanged);
  CHECK(event_for(C, true, 4, Trigger{"/n", {C}, EventType::NodeChildrenChanged, 9}) ==
        EventType::NodeDeleted);
}

TEST_CASE("a watch row that empties is deleted: none stays for a node that never existed",
          "[protocol][watch]") {
  testing::Fixture f;
  // A watch on a node that never exists, gone with its session's close; one that fires, gone
  // when the watch function removes it.
  REQUIRE(f.run("a", [](ClientSession& c) { return c.exists("/never", true); }).stat_null);
  REQUIRE(f.run("b", [](ClientSession& c) { return c.exists("/later", true); }).stat_null);
  CHECK(f.service.system_store().scan(kWatchesTable).size() == 2);
  REQUIRE(f.close("a").status.is_ok());
  REQUIRE(f.create("c", "/later").status.is_ok());
  f.ex.run(f.ex.now() + 10 * kSecond);
  CHECK(f.service.system_store().scan(kWatchesTable).empty());
}

// From an outside attack: a session's close with thousands of ephemerals held the server for
// seconds and grew its memory past 2.6 GB, as every record of the update carried its own copy
// of the update's triggers (n records of n triggers). They are packed once and shared.
TEST_CASE("the records of one update share its packed triggers", "[protocol][sessions]") {
  fkemu::testing::Fixture f;
  REQUIRE(f.create("a", "/e").status.is_ok());
  for (int i = 0; i < 40; ++i)
    REQUIRE(f.create("a", "/e/n" + std::to_string(i), "", true).status.is_ok());
  REQUIRE(f.close("a").status.is_ok());
  int64_t close_zxid = 0;  // the last update's
  for (const auto& [key, object] : f.service.user_store().list())
    close_zxid = std::max(close_zxid, UserRecord::from_object(*object).version_zxid());
  std::set<const char*> buffers;
  int records = 0;
  for (const auto& [key, object] : f.service.user_store().list()) {
    const UserRecord r = UserRecord::from_object(*object);
    if (r.version_zxid() != close_zxid) continue;
    const Value& update = object->at(attr::kUpdate);
    REQUIRE(update.is_bytes());
    REQUIRE(r.update);
    ++records;
    buffers.insert(update.as_bytes().view().data());
    CHECK(r.update->triggers.size() >= 40);  // each ephemeral's delete, and its parent's
  }
  CHECK(records == 41);  // the 40 tombstones and /e
  CHECK(buffers.size() == 1);
}
