// ZooKeeper's ACLs (core/model/acl.h, decision 50): the fixup of a requested ACL, the check of
// a permission against identities, the ip provider's masks, the packed form; and the writer's
// decisions with ACLs (core/protocol/writer_plan.h), in ZooKeeper 3.8's check order. The
// answers were checked on a real ZooKeeper 3.8 with kazoo (tests/zookeeper/kazoo_suite.py runs
// kazoo's ACL tests on both).
#include "core/model/acl.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/records.h"
#include "core/protocol/watch.h"
#include "core/protocol/writer_plan.h"

using namespace fkemu;

namespace {

const Identity kIp{"ip", "127.0.0.1"};
const Identity kAlice{"digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="};
const AclEntry kAliceAll{perm::kAll, "digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0="};
const AclEntry kAnyoneRead{perm::kRead, "world", "anyone"};

Value node_item(bool exists, Acl acl = {}, int version = 0, int aversion = 0,
                std::vector<std::string> children = {}) {
  NodeState n;
  n.exists = exists;
  n.stat.version = version;
  n.stat.aversion = aversion;
  n.stat.num_children = static_cast<int32_t>(children.size());
  n.children = std::move(children);
  n.acl = stored_acl(std::move(acl));
  return Value(ValueMap{{"node", n.to_value()}, {"lock", 1}, {"lock_owner", "a1@1"}});
}

WriteRequest as(std::vector<Identity> auth, decltype(WriteRequest::op) op) {
  WriteRequest r;
  r.session = "s";
  r.req_no = 4;
  r.auth = std::move(auth);
  r.op = std::move(op);
  return r;
}

Code decide(const WriteRequest& r, const LockedItems& items) {
  return plan_write(r, r.path(), items, {}, 0, DeploymentConfig{}).error;
}

}  // namespace

TEST_CASE("fixup: repeats go, auth expands to the digest identities, bad ids are refused",
          "[acl]") {
  CHECK_FALSE(fixup_acl({}, {}).has_value());  // empty: InvalidACL
  CHECK(*fixup_acl({open_acl()[0], open_acl()[0]}, {}) == open_acl());
  const Acl auth{{perm::kAll, "auth", ""}};
  CHECK_FALSE(fixup_acl(auth, {kIp}).has_value());  // ip is not an authenticated identity
  CHECK(*fixup_acl(auth, {kIp, kAlice}) == Acl{kAliceAll});
  CHECK_FALSE(fixup_acl({{perm::kAll, "digest", "nocolon"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "digest", "a:b:c"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "digest", "a:"}}, {}).has_value());  // Java drops ""
  CHECK(fixup_acl({{perm::kAll, "digest", ":b"}}, {}).has_value());
  CHECK(fixup_acl({{perm::kAll, "ip", "10.0.0.0/8"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "ip", "10.0.0.0/33"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "ip", "10.0.0"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "ip", "256.0.0.1"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "world", "someone"}}, {}).has_value());
  CHECK_FALSE(fixup_acl({{perm::kAll, "sasl", "user"}}, {}).has_value());  // no SASL
  CHECK_FALSE(fixup_acl({{perm::kAll, "", ""}}, {}).has_value());          // a null scheme
  // The stored form of world:anyone, all is the empty list; it means the same.
  CHECK(stored_acl(open_acl()).empty());
  CHECK(effective_acl({}) == open_acl());
}

TEST_CASE("a permission is granted by a matching entry with its bit, or to the super user",
          "[acl]") {
  CHECK(acl_permits({}, perm::kAdmin, {}));
  CHECK(acl_permits({kAnyoneRead}, perm::kRead, {}));
  CHECK_FALSE(acl_permits({kAnyoneRead}, perm::kWrite, {kIp}));
  CHECK(acl_permits({kAnyoneRead, kAliceAll}, perm::kWrite, {kIp, kAlice}));
  CHECK(acl_permits({kAliceAll}, perm::kRead | perm::kAdmin, {kAlice}));
  CHECK_FALSE(acl_permits({{0, "world", "anyone"}}, perm::kRead, {kAlice}));
  CHECK(acl_permits({{0, "world", "anyone"}}, perm::kRead, {{"super", ""}}));
  const Acl net{{perm::kAll, "ip", "10.1.0.0/16"}};
  CHECK(acl_permits(net, perm::kRead, {{"ip", "10.1.200.3"}}));
  CHECK_FALSE(acl_permits(net, perm::kRead, {{"ip", "10.2.0.1"}}));
  CHECK_FALSE(acl_permits(net, perm::kRead, {{"digest", "10.1.0.1"}}));  // schemes must match
  CHECK(ip_acl_matches("192.168.7.9", "192.168.0.0/17"));
  CHECK_FALSE(ip_acl_matches("192.168.128.9", "192.168.0.0/17"));
  CHECK(ip_acl_matches("8.8.8.8", "0.0.0.0/0"));
  CHECK_FALSE(ip_acl_matches("not an address", "0.0.0.0/0"));
}

TEST_CASE("a node's ACL round-trips in its packed form; a damaged one is refused", "[acl]") {
  NodeState n;
  n.exists = true;
  n.acl = {kAnyoneRead, kAliceAll};
  CHECK(NodeState::from_value(n.to_value()) == n);
  n.acl.clear();  // world:anyone stores nothing
  const Value open = n.to_value();
  CHECK(NodeState::from_value(open) == n);
  n.acl = {kAliceAll};
  std::string packed(n.to_value().as_bytes().view());
  CHECK_THROWS_AS(NodeState::from_value(Value(Bytes(packed.substr(0, packed.size() - 3)))),
                  std::invalid_argument);
  UserRecord r;
  r.data = Bytes("x");
  r.acl = {kAnyoneRead};
  r.zxid = 5;
  CHECK(UserRecord::from_object(r.to_object()).acl == r.acl);
  // A request's ACL and identities survive the queue.
  WriteRequest w = as({kIp, kAlice}, SetAclRequest{"/a", {kAliceAll}, 3});
  const WriteRequest back = WriteRequest::from_message(w.to_message());
  CHECK(back.auth == w.auth);
  CHECK(std::get<SetAclRequest>(back.op).acl == Acl{kAliceAll});
  CHECK(std::get<SetAclRequest>(back.op).version == 3);
}

TEST_CASE("a trigger and a fired event carry the node's ACL; a delete the ACL it had",
          "[acl][watch]") {
  UpdateMessage u;
  u.op = WriteOp::Delete;
  NodeState gone;
  gone.acl = {kAliceAll};
  NodeState parent;
  parent.exists = true;
  u.changes = {Change{"/p/c", ChangeKind::Delete, gone, {}},
               Change{"/p", ChangeKind::Parent, parent, {}}};
  const std::vector<Trigger> t = triggers_for(u, 9);
  REQUIRE(t.size() == 2);
  CHECK(t[0].acl == Acl{kAliceAll});  // NodeDeleted of /p/c: only alice may learn of it
  CHECK(t[1].acl.empty());            // NodeChildrenChanged of the open /p
  UserRecord r;
  r.zxid = 9;
  r.update = UpdateTriggers{9, t};
  CHECK(UserRecord::from_object(r.to_object()).update->triggers == t);
  WatchMessage m;
  m.zxid = 9;
  m.events["s"] = {FiredEvent{"s:w1", EventType::NodeDeleted, "/p/c", 0, {kAliceAll}},
                   FiredEvent{"s:w2", EventType::NodeChildrenChanged, "/p", 1, {}}};
  const WatchMessage back = WatchMessage::from_message(m.to_message());
  CHECK(back.events.at("s")[0].acl == Acl{kAliceAll});
  CHECK(back.events.at("s")[0].trigger == 0);
  CHECK(back.events.at("s")[1].acl.empty());
  CHECK(back.events.at("s")[1].trigger == 1);
  // The writer's delete carries the ACL the node had.
  LockedItems items;
  items[{"nodes", "/"}] = node_item(true, {}, 0, 0, {"p"});
  items[{"nodes", "/p"}] = node_item(true, {kAliceAll});
  const WritePlan plan =
      plan_write(as({kAlice}, DeleteRequest{"/p"}), "/p", items, {}, 0, DeploymentConfig{});
  REQUIRE(plan.error == Code::Ok);
  CHECK(plan.changes[0].kind == ChangeKind::Delete);
  CHECK_FALSE(plan.changes[0].node.exists);
  CHECK(plan.changes[0].node.acl == Acl{kAliceAll});
}

TEST_CASE("the writer checks ACLs in ZooKeeper's order", "[acl][writer][plan]") {
  LockedItems items;
  items[{"nodes", "/"}] = node_item(true);
  items[{"nodes", "/p"}] = node_item(true, {kAnyoneRead, kAliceAll}, 0, 0, {"c"});
  items[{"nodes", "/p/c"}] = node_item(true, {kAliceAll});
  items[{"nodes", "/p/new"}] = node_item(false);
  items[{"nodes", "/missing"}] = node_item(false);
  items[{"nodes", "/missing/x"}] = node_item(false);
  CreateRequest make{"/p/new", Bytes("")};
  // create: the ACL's fixup, then the parent, then its CREATE.
  CreateRequest bad = make;
  bad.acl = Acl{};
  CHECK(decide(as({kAlice}, bad), items) == Code::InvalidACL);
  CreateRequest orphan{"/missing/x", Bytes("")};
  orphan.acl = Acl{{perm::kAll, "auth", ""}};
  CHECK(decide(as({kIp}, orphan), items) == Code::InvalidACL);  // before NoNode
  CHECK(decide(as({kAlice}, orphan), items) == Code::NoNode);
  CHECK(decide(as({kIp}, make), items) == Code::NoAuth);
  CHECK(decide(as({kIp, kAlice}, make), items) == Code::Ok);
  // A request of the service's own passes every ACL.
  WriteRequest system = as({}, DeleteRequest{"/p/c"});
  system.req_no = -1;
  CHECK(decide(system, items) == Code::Ok);
  // delete: the parent's DELETE comes before the node's existence.
  CHECK(decide(as({kIp}, DeleteRequest{"/p/gone"}), items) == Code::NoAuth);
  CHECK(decide(as({kAlice}, DeleteRequest{"/p/gone"}), items) == Code::NoNode);
  // set_data: existence, then WRITE, then the version.
  CHECK(decide(as({kIp}, SetDataRequest{"/missing", Bytes(""), 0}), items) == Code::NoNode);
  CHECK(decide(as({kIp}, SetDataRequest{"/p/c", Bytes(""), 9}), items) == Code::NoAuth);
  CHECK(decide(as({kAlice}, SetDataRequest{"/p/c", Bytes(""), 9}), items) == Code::BadVersion);
  // set_acl: fixup, existence, ADMIN, aversion; it changes the ACL and the aversion alone.
  CHECK(decide(as({kAlice}, SetAclRequest{"/p/c", {}, -1}), items) == Code::InvalidACL);
  CHECK(decide(as({kAlice}, SetAclRequest{"/missing", open_acl(), -1}), items) == Code::NoNode);
  CHECK(decide(as({kIp}, SetAclRequest{"/p/c", open_acl(), -1}), items) == Code::NoAuth);
  CHECK(decide(as({kAlice}, SetAclRequest{"/p/c", open_acl(), 1}), items) == Code::BadVersion);
  const WriteRequest reopen = as({kAlice}, SetAclRequest{"/p/c", open_acl(), 0});
  const WritePlan plan = plan_write(reopen, "/p/c", items, {}, 0, DeploymentConfig{});
  REQUIRE(plan.changes.size() == 1);
  CHECK(plan.changes[0].kind == ChangeKind::AclChange);
  CHECK(plan.changes[0].node.acl.empty());
  CHECK(plan.changes[0].node.stat.aversion == 1);
  CHECK(plan.changes[0].node.stat.version == 0);
  CHECK(plan.changes[0].materialized(77).stat.mzxid == 0);  // setACL moves no zxid
  CHECK(items_to_lock(reopen, {}) == std::set<ItemKey>{{"nodes", "/p/c"}});
  // multi: a check needs READ; a create's ACL holds for the operations after it.
  CHECK(decide(as({kIp}, MultiRequest{{CheckRequest{"/p/c", 0}}}), items) == Code::NoAuth);
  CreateRequest guarded{"/p/new", Bytes("")};
  guarded.acl = Acl{kAliceAll};
  const WriteRequest then_write =
      as({kIp, kAlice}, MultiRequest{{guarded, SetDataRequest{"/p/new", Bytes("v"), 0}}});
  CHECK(decide(then_write, items) == Code::Ok);
  WritePlan refused = plan_write(
      as({kIp}, MultiRequest{{SetDataRequest{"/p", Bytes("v"), 0}, DeleteRequest{"/p/c"}}}), "/p",
      items, {}, 0, DeploymentConfig{});
  CHECK(refused.error == Code::NoAuth);
  CHECK(refused.failed_op == 0);  // /p is world-readable only
}
