// The writer's pure decisions (core/protocol/writer_plan.h), without a queue or a store: what a
// request locks, ZooKeeper's check order per operation, the changes of a success, a close's
// ephemerals, sequential names, and the decision record of a failure.
#include "core/protocol/writer_plan.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/model/stat.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

Value node(bool exists, int version = 0, std::vector<std::string> children = {},
           std::optional<std::string> owner = std::nullopt, int creates = 0) {
  Stat st;
  st.version = version;
  st.ephemeral_owner = owner;
  st.num_children = static_cast<int32_t>(children.size());
  NodeState n{exists, st, std::move(children), creates};
  return Value(ValueMap{{"node", n.to_value()}, {"lock", 1}, {"lock_owner", "a1@1"}});
}

WriteRequest request(const std::string& op, const std::string& path, Bytes data = {}) {
  WriteRequest r;
  r.session = "s";
  r.req_no = 7;
  if (op == "create") r.op = CreateRequest{path, std::move(data)};
  if (op == "delete") r.op = DeleteRequest{path};
  if (op == "set_data") r.op = SetDataRequest{path, std::move(data)};
  if (op == "close") r.op = CloseRequest{};
  return r;
}

std::vector<std::string> kinds(const WritePlan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.changes)
    out.push_back(std::string(change_kind_name(c.kind)) + " " + c.path);
  return out;
}

const LockOwner kOwner{3, 9};

const DeploymentConfig kConfig{};

}  // namespace

TEST_CASE("a request locks its node and its parent; set_data its node only", "[writer][plan]") {
  using Keys = std::set<ItemKey>;
  CHECK(items_to_lock(request("create", "/a/b"), {}) == Keys{{"nodes", "/a"}, {"nodes", "/a/b"}});
  CHECK(items_to_lock(request("delete", "/a"), {}) == Keys{{"nodes", "/"}, {"nodes", "/a"}});
  CHECK(items_to_lock(request("set_data", "/a"), {}) == Keys{{"nodes", "/a"}});
  WriteRequest seq = request("create", "/q/n-");
  std::get<CreateRequest>(seq.op).sequential = true;
  CHECK(items_to_lock(seq, {}) == Keys{{"nodes", "/q"}});  // the name comes from the parent
  CHECK(items_to_lock(request("close", ""), {"/e1", "/p/e2"}) == Keys{{"nodes", "/"},
                                                                      {"nodes", "/e1"},
                                                                      {"nodes", "/p"},
                                                                      {"nodes", "/p/e2"},
                                                                      {"sessions", "s"}});
}

TEST_CASE("a close deletes each ephemeral the session record names once", "[writer][plan]") {
  CHECK(session_ephemerals(std::nullopt).empty());
  SessionRecord rec;
  rec.ephemerals = {"/b", "/a", "/b", "/c"};
  CHECK(session_ephemerals(rec) == std::vector<std::string>{"/b", "/a", "/c"});
}

TEST_CASE("create checks the parent first, then the name, then existence, then ephemerality",
          "[writer][plan]") {
  const Bytes data("x");
  LockedItems items;
  items[{"nodes", "/"}] = node(true);
  items[{"nodes", "/missing"}] = node(false);
  items[{"nodes", "/missing/a"}] = node(false);
  // NoNode of the parent comes before the bad character of the name (ZooKeeper 3.8 order).
  WriteRequest bad = request("create", "/missing/a\x01", data);
  CHECK(plan_write(bad, bad.path(), items, {}, 0, kConfig).error == Code::NoNode);
  WriteRequest ctl = request("create", "/a\x01", data);
  CHECK(plan_write(ctl, ctl.path(), items, {}, 0, kConfig).error == Code::BadArguments);

  items[{"nodes", "/e"}] = node(true, 0, {}, std::string("other"));
  items[{"nodes", "/e/c"}] = node(false);
  WriteRequest under_ephemeral = request("create", "/e/c", data);
  CHECK(plan_write(under_ephemeral, "/e/c", items, {}, 0, kConfig).error ==
        Code::NoChildrenForEphemerals);
  items[{"nodes", "/e/c"}] = node(true);
  CHECK(plan_write(under_ephemeral, "/e/c", items, {}, 0, kConfig).error == Code::NodeExists);

  items[{"nodes", "/n"}] = node(false);
  WriteRequest ok = request("create", "/n", data);
  std::get<CreateRequest>(ok.op).ephemeral = true;
  const WritePlan p = plan_write(ok, "/n", items, {}, 5 * kMillisecond, kConfig);
  REQUIRE(p.error == Code::Ok);
  CHECK(kinds(p) == std::vector<std::string>{"create /n", "parent /"});
  CHECK(p.changes[0].node.stat.ephemeral_owner == "s");
  CHECK(p.changes[0].node.stat.data_length == 1);
  CHECK(p.changes[0].node.stat.ctime == 5);
  // The change carries the request's buffer, not a copy of it.
  CHECK(p.changes[0].data.shares_buffer_with(data));
  CHECK(p.changes[1].node.children == std::vector<std::string>{"n"});
  CHECK(p.changes[1].node.creates == 1);
  CHECK(p.changes[1].node.stat.cversion == 1);
  CHECK(p.created_path == "/n");
  CHECK(p.anchor == ItemKey{"nodes", "/n"});
  // The commit writes the record's fields, not the writer's lock.
  for (const Update& u : p.changes[1].materialized(9).set_updates()) CHECK(u.attr != "lock");
}

TEST_CASE("a sequential name counts the parent's creates, not its cversion", "[writer][plan]") {
  WriteRequest r = request("create", "/q/n-");
  std::get<CreateRequest>(r.op).sequential = true;
  Value parent = node(true, 0, {}, std::nullopt, 12);
  NodeState n = NodeState::from_value(parent.at("node"));
  n.stat.cversion = 20;  // deletes count in cversion too
  parent.as_map().set("node", n.to_value());
  CHECK(sequential_name(r, NodeRecord::from_item(parent), kConfig) ==
        std::optional<std::string>("/q/n-0000000012"));
  CHECK_FALSE(sequential_name(r, NodeRecord::from_item(node(false)), kConfig).has_value());
}

TEST_CASE("delete: own nodes, NoNode, BadVersion before NotEmpty", "[writer][plan]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true, 0, {"p"});
  items[{"nodes", "/p"}] = node(true, 2, {"c"});
  for (const char* own : {"/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"})
    CHECK(plan_write(request("delete", own), own, items, {}, 0, kConfig).error ==
          Code::BadArguments);
  CHECK(plan_write(request("delete", "/x"), "/x", items, {}, 0, kConfig).error == Code::NoNode);
  WriteRequest versioned = request("delete", "/p");
  std::get<DeleteRequest>(versioned.op).version = 3;
  CHECK(plan_write(versioned, "/p", items, {}, 0, kConfig).error == Code::BadVersion);
  std::get<DeleteRequest>(versioned.op).version = 2;
  CHECK(plan_write(versioned, "/p", items, {}, 0, kConfig).error == Code::NotEmpty);
  items[{"nodes", "/p"}] = node(true, 2);
  const WritePlan p = plan_write(versioned, "/p", items, {}, 0, kConfig);
  REQUIRE(p.error == Code::Ok);
  CHECK(kinds(p) == std::vector<std::string>{"delete /p", "parent /"});
  CHECK(p.changes[1].node.children.empty());
  CHECK(p.changes[1].node.stat.num_children == 0);
}

TEST_CASE("set_data bumps the version and sets mtime and the length", "[writer][plan]") {
  const Bytes data("abc");
  LockedItems items;
  items[{"nodes", "/a"}] = node(true, 4);
  WriteRequest r = request("set_data", "/a", data);
  std::get<SetDataRequest>(r.op).version = 3;
  CHECK(plan_write(r, "/a", items, {}, 0, kConfig).error == Code::BadVersion);
  std::get<SetDataRequest>(r.op).version = 4;
  const WritePlan p = plan_write(r, "/a", items, {}, 9 * kMillisecond, kConfig);
  REQUIRE(p.error == Code::Ok);
  const Stat& st = p.changes.at(0).node.stat;
  CHECK(st.version == 5);
  CHECK(st.mtime == 9);
  CHECK(st.data_length == 3);
  CHECK(p.changes.at(0).data.shares_buffer_with(data));
  CHECK(plan_write(request("set_data", "/none", data), "/none", items, {}, 0, kConfig).error ==
        Code::NoNode);
}

TEST_CASE("a close deletes its live ephemerals and releases the others' locks", "[writer][plan]") {
  LockedItems items;
  items[{"sessions", "s"}] = Value(ValueMap{{"alive", true}});
  items[{"nodes", "/"}] = node(true, 0, {"mine", "theirs"});
  items[{"nodes", "/mine"}] = node(true, 0, {}, std::string("s"));
  items[{"nodes", "/theirs"}] = node(true, 0, {}, std::string("t"));  // recreated by t
  const WritePlan p = plan_write(request("close", ""), "", items, {"/mine", "/theirs"}, 0, kConfig);
  REQUIRE(p.error == Code::Ok);
  CHECK(kinds(p) == std::vector<std::string>{"delete /mine", "parent /", "keep /theirs"});
  CHECK(p.changes[1].node.children == std::vector<std::string>{"theirs"});
  CHECK(p.anchor == ItemKey{"sessions", "s"});
}

TEST_CASE("a writer-queue message with an unknown operation is refused", "[writer][plan]") {
  const Value body(ValueMap{{"session", "s"}, {"req", 1}, {"op", "rename"}, {"path", "/a"}});
  CHECK_THROWS_WITH(WriteRequest::from_message(body), Catch::Contains("rename"));
}

TEST_CASE("a failure is recorded once per request, with every lock released", "[writer][plan]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true);
  items[{"nodes", "/a"}] = node(false);
  WritePlan refused;
  refused.error = Code::NoNode;
  const auto ws = failure_writes(request("delete", "/a"), refused, items, kOwner);
  REQUIRE(ws.size() == 3);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(ws[i].conditions.at(0).attr == "lock_owner");
    CHECK(ws[i].conditions.at(0).value == "a3@9");
  }
  CHECK(ws[2].table == "sessions");
  CHECK(ws[2].conditions.at(0).kind == Condition::Kind::Less);
  CHECK(ws[2].conditions.at(0).value == 7);
  CHECK(ws[2].updates.at(1).value.to_json() == json{{"req", 7}, {"error", "NoNode"}});
}

TEST_CASE("the timelock is taken if free or older than the lock lifetime", "[writer][plan]") {
  const KvWrite w = lock_write({"nodes", "/a"}, 100 * kSecond, LockOwner{1, 2}, kConfig);
  REQUIRE(w.conditions.size() == 1);
  CHECK(w.conditions[0].kind == Condition::Kind::AbsentOrLess);
  CHECK(w.conditions[0].value == 100 * kSecond - kConfig.lock_lifetime);
  CHECK(w.updates.at(1).value == "a1@2");
}

namespace {

WriteRequest multi(std::vector<MultiOp> ops) {
  WriteRequest r;
  r.session = "s";
  r.req_no = 8;
  r.op = MultiRequest{std::move(ops)};
  return r;
}

UpdateMessage update_of(const WritePlan& p) {
  UpdateMessage u;
  u.op = WriteOp::Multi;
  u.changes = p.changes;
  u.results = p.results;
  return u;
}

}  // namespace

TEST_CASE("a multi checks each operation against the state the ones before it leave",
          "[writer][plan][multi]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true, 0, {"old"});
  items[{"nodes", "/old"}] = node(true, 4);
  items[{"nodes", "/a"}] = node(false);
  items[{"nodes", "/a/b"}] = node(false);
  const WriteRequest r = multi({CreateRequest{"/a", Bytes("1")}, CreateRequest{"/a/b", Bytes("2")},
                                SetDataRequest{"/a", Bytes("3")}, DeleteRequest{"/a/b", 0},
                                CheckRequest{"/a", 1}, DeleteRequest{"/old", 4}});
  CHECK(items_to_lock(r, {}) ==
        std::set<ItemKey>{{"nodes", "/"}, {"nodes", "/a"}, {"nodes", "/a/b"}, {"nodes", "/old"}});
  const WritePlan p = plan_write(r, r.path(), items, {}, 9 * kMillisecond, kConfig);
  REQUIRE(p.error == Code::Ok);
  // Every operation's changes in order, a node as often as it changes.
  CHECK(kinds(p) == std::vector<std::string>{"create /a", "create /a/b", "set /a", "delete /a/b",
                                             "delete /old", "parent /", "parent /a"});
  REQUIRE(p.results.size() == 6);
  CHECK(p.results[0].path == "/a");
  CHECK(p.results[2].stat->version == 1);        // the set, after the create
  CHECK(p.results[2].stat->num_children == 1);   // /a/b was there then
  CHECK(p.results[2].stat->mzxid == kThisZxid);  // the multi's zxid, once known
  CHECK(materialize_stat(*p.results[2].stat, 42).czxid == 42);
  CHECK(p.anchor == ItemKey{"nodes", "/a"});

  // Folded, each node once, as the multi leaves it.
  const std::vector<Change> fin = update_of(p).final_changes();
  std::vector<std::string> folded;
  for (const Change& c : fin)
    folded.push_back(std::string(change_kind_name(c.kind)) + " " + c.path);
  CHECK(folded == std::vector<std::string>{"create /a", "delete /a/b", "delete /old", "parent /"});
  CHECK(fin[0].data == Bytes("3"));  // the set's data, on the node the multi created
  CHECK(fin[0].node.children.empty());
  const NodeState root = fin[3].materialized(42);
  CHECK(root.children == std::vector<std::string>{"a"});
  CHECK(root.stat.pzxid == 42);
  CHECK(fin[0].materialized(42).stat.mzxid == 42);
}

TEST_CASE("a failing multi names its operation and changes nothing", "[writer][plan][multi]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true);
  items[{"nodes", "/n"}] = node(false);
  items[{"nodes", "/nope"}] = node(false);
  const WriteRequest r =
      multi({CreateRequest{"/n", {}}, DeleteRequest{"/nope", -1}, CreateRequest{"/n2", {}}});
  const WritePlan p = plan_write(r, r.path(), items, {}, 0, kConfig);
  CHECK(p.error == Code::NoNode);
  CHECK(p.failed_op == 1);
  CHECK(p.changes.empty());
  CHECK(p.results.empty());
  // A create of a node an earlier create made: NodeExists at the second.
  const WriteRequest twice = multi({CreateRequest{"/n", {}}, CreateRequest{"/n", {}}});
  const WritePlan q = plan_write(twice, twice.path(), items, {}, 0, kConfig);
  CHECK(q.error == Code::NodeExists);
  CHECK(q.failed_op == 1);
}

TEST_CASE("a multi's sequential creates are named as its operations leave the counters",
          "[writer][plan][multi]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true);
  items[{"nodes", "/q"}] = node(true, 0, {}, std::nullopt, 5);
  CreateRequest seq{"/q/s-", {}};
  seq.sequential = true;
  const WriteRequest r = multi({CreateRequest{"/q/x", {}}, seq, seq});
  CHECK(items_to_lock(r, {}) == std::set<ItemKey>{{"nodes", "/q"}, {"nodes", "/q/x"}});
  CHECK(sequential_names(r, items, 0, kConfig) ==
        std::vector<std::string>{"/q/s-0000000006", "/q/s-0000000007"});
  CHECK(sequential_names(request("create", "/q/s-"), items, 0, kConfig).empty());
}

TEST_CASE("a TTL node's cleanup deletes only the node the TTL function read", "[writer][plan]") {
  Stat st;
  st.ttl_ms = 1000;
  st.czxid = 4;
  st.mzxid = 6;
  auto ttl_node = [&](std::vector<std::string> children = {}) {
    st.num_children = static_cast<int32_t>(children.size());
    NodeState n{true, st, std::move(children), 0};
    return Value(ValueMap{{"node", n.to_value()}, {"lock", 1}, {"lock_owner", "a1@1"}});
  };
  LockedItems items;
  items[{"nodes", "/"}] = node(true, 0, {"t"});
  items[{"nodes", "/t"}] = ttl_node();
  WriteRequest cleanup;
  cleanup.req_no = -1;  // a request of the service's own
  DeleteRequest del{"/t"};
  del.only_expired_ttl = DeleteRequest::Expired{4, 6};
  cleanup.op = del;
  const WritePlan p = plan_write(cleanup, "/t", items, {}, 0, kConfig);
  REQUIRE(p.error == Code::Ok);
  CHECK(kinds(p) == std::vector<std::string>{"delete /t", "parent /"});
  // Its data changed after the function looked (another mzxid), it was created again
  // (another czxid), or a child came: nothing happens.
  for (const DeleteRequest::Expired read :
       {DeleteRequest::Expired{4, 5}, DeleteRequest::Expired{3, 6}}) {
    std::get<DeleteRequest>(cleanup.op).only_expired_ttl = read;
    CHECK(plan_write(cleanup, "/t", items, {}, 0, kConfig).error == Code::NotEmpty);
  }
  std::get<DeleteRequest>(cleanup.op).only_expired_ttl = DeleteRequest::Expired{4, 6};
  items[{"nodes", "/t"}] = ttl_node({"c"});
  CHECK(plan_write(cleanup, "/t", items, {}, 0, kConfig).error == Code::NotEmpty);
  // Not a TTL node (a plain one of that path): nothing happens either.
  st.ttl_ms = 0;
  items[{"nodes", "/t"}] = ttl_node();
  CHECK(plan_write(cleanup, "/t", items, {}, 0, kConfig).error == Code::NotEmpty);
}

TEST_CASE("a TTL create is checked first, as ZooKeeper's validateCreateRequest", "[writer][plan]") {
  LockedItems items;
  items[{"nodes", "/"}] = node(true);
  DeploymentConfig on;
  on.ttl_nodes = true;
  WriteRequest r = request("create", "/nope/x");
  auto with_ttl = [&](std::optional<int64_t> ttl) {
    std::get<CreateRequest>(r.op).ttl_ms = ttl;
    return r;
  };
  CHECK(plan_write(with_ttl(0), "/nope/x", items, {}, 0, on).error == Code::BadArguments);
  CHECK(plan_write(with_ttl(int64_t{1} << 40), "/nope/x", items, {}, 0, on).error ==
        Code::BadArguments);
  CHECK(plan_write(with_ttl(-1), "/nope/x", items, {}, 0, kConfig).error == Code::BadArguments);
  CHECK(plan_write(with_ttl(5000), "/nope/x", items, {}, 0, on).error == Code::NoNode);
  CHECK(plan_write(with_ttl(5000), "/nope/x", items, {}, 0, kConfig).error == Code::Unimplemented);
  // An ephemeral node has no TTL mode: BadArguments whether or not TTL nodes are on.
  std::get<CreateRequest>(r.op).ephemeral = true;
  CHECK(plan_write(with_ttl(5000), "/nope/x", items, {}, 0, kConfig).error == Code::BadArguments);
  std::get<CreateRequest>(r.op).ephemeral = false;
  r = request("create", "/t");
  const WritePlan made = plan_write(with_ttl(5000), "/t", items, {}, 0, on);
  REQUIRE(made.error == Code::Ok);
  CHECK(made.changes[0].node.stat.ttl_ms == 5000);
  CHECK_FALSE(made.changes[0].node.stat.ephemeral_owner);
}
