// The protocol's typed records (core/protocol/records.h): every codec gives back what it was
// given, the stored layout is the one the stores and dumps have always shown, and a malformed
// message is refused by name.
#include "core/protocol/records.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/text/varint.h"

using namespace fkemu;
using json = nlohmann::json;

namespace {

Stat some_stat() {
  Stat s;
  s.czxid = 3;
  s.mzxid = 5;
  s.pzxid = 4;
  s.ctime = 10;
  s.mtime = 12;
  s.version = 2;
  s.cversion = 1;
  s.ephemeral_owner = "s1";
  s.data_length = 3;
  s.num_children = 1;
  return s;
}

}  // namespace

TEST_CASE("a lock owner is a<attempt>@<process> and nothing else", "[records]") {
  const LockOwner o{12, 7};
  CHECK(o.to_string() == "a12@7");
  CHECK(LockOwner::parse("a12@7") == o);
  for (const char* bad : {"", "a@7", "a12@", "12@7", "a12@7x", "a-1@7", "b12@7", "a12", "a1 2@7"})
    CHECK_FALSE(LockOwner::parse(bad).has_value());
}

TEST_CASE("writer requests round-trip through the queue message", "[records]") {
  const std::vector<WriteRequest> requests = {
      {"s1", 4, CreateRequest{"/a", Bytes("xyz"), true, true}},
      {"s1", 5, DeleteRequest{"/a", 3}},
      {"s2", 1, SetDataRequest{"/b", Bytes(std::string("\0\xff", 2)), -1}},
      {"s2", 2, CloseRequest{}},
      {"s3", -1, CloseRequest{Time{123456}}},
  };
  for (const WriteRequest& r : requests) {
    const WriteRequest back = WriteRequest::from_message(r.to_message());
    CHECK(back.session == r.session);
    CHECK(back.req_no == r.req_no);
    CHECK(back.kind() == r.kind());
    CHECK(back.path() == r.path());
    CHECK(back.data_bytes() == r.data_bytes());
    if (r.data()) CHECK(*back.data() == *r.data());
  }
  const WriteRequest c = WriteRequest::from_message(requests[0].to_message());
  CHECK(std::get<CreateRequest>(c.op).ephemeral);
  CHECK(std::get<CreateRequest>(c.op).sequential);
  CHECK(std::get<DeleteRequest>(WriteRequest::from_message(requests[1].to_message()).op).version ==
        3);
  CHECK(std::get<CloseRequest>(WriteRequest::from_message(requests[4].to_message()).op)
            .expired_last_seen == Time{123456});
  CHECK_FALSE(std::get<CloseRequest>(WriteRequest::from_message(requests[3].to_message()).op)
                  .expired_last_seen.has_value());
  // The layout of a message in the queue.
  CHECK(requests[1].to_message().to_json() ==
        json{{"session", "s1"}, {"req", 5}, {"op", "delete"}, {"path", "/a"}, {"version", 3}});
  // The payload travels in the message's body without a copy.
  CHECK(requests[2].to_message().at("data").as_bytes().shares_buffer_with(*requests[2].data()));
  CHECK(WriteRequest::from_message(requests[2].to_message())
            .data()
            ->shares_buffer_with(*requests[2].data()));
  // A create without data is malformed.
  CHECK_THROWS(WriteRequest::from_message(
      Value(ValueMap{{"session", "s"}, {"req", 1}, {"op", "create"}, {"path", "/a"}})));
}

TEST_CASE("an update message round-trips, data and all", "[records]") {
  UpdateMessage u;
  u.uid = "s1:4:a9@2";
  u.session = "s1";
  u.req = 4;
  u.op = WriteOp::Create;
  u.attempt = LockOwner{9, 2};
  u.anchor = {"nodes", "/a/b"};
  NodeState created{true, some_stat(), {}, 0};
  NodeState parent{true, Stat{}, {"b"}, 1};
  u.changes = {Change{"/a/b", ChangeKind::Create, created, Bytes("data")},
               Change{"/a", ChangeKind::Parent, parent, {}}};
  u.created_path = "/a/b";
  const UpdateMessage back = UpdateMessage::from_message(u.to_message());
  CHECK(back.uid == u.uid);
  CHECK(back.attempt == u.attempt);
  CHECK(back.anchor == u.anchor);
  CHECK_FALSE(back.expired_last_seen.has_value());
  REQUIRE(back.changes.size() == 2);
  CHECK(back.changes[0].node == created);
  CHECK(back.changes[0].data == Bytes("data"));
  CHECK(back.changes[1].node == parent);
  CHECK(back.changes[1].kind == ChangeKind::Parent);
  CHECK(back.created_path == "/a/b");
  CHECK(back.data_bytes() == 4);

  // Materializing fills the zxid fields a change of each kind sets, and nothing else.
  const NodeState c = u.changes[0].materialized(42);
  CHECK((c.stat.czxid == 42 && c.stat.mzxid == 42 && c.stat.pzxid == 42));
  const NodeState p = u.changes[1].materialized(42);
  CHECK((p.stat.czxid == 0 && p.stat.mzxid == 0 && p.stat.pzxid == 42));
  Change set{"/x", ChangeKind::Set, created, {}};
  CHECK(set.materialized(50).stat.mzxid == 50);
  CHECK(set.materialized(50).stat.czxid == 3);
}

TEST_CASE("user records round-trip: nodes, tombstones, epochs and triggers", "[records]") {
  UserRecord node;
  node.data = Bytes("abc");
  node.stat = some_stat();
  node.children = {"c"};
  node.zxid = 9;
  node.epoch = {EpochEntry{8, {"s1", "s2"}}};
  node.update = UpdateTriggers{
      9,
      {Trigger{"/n", {WatchType::Data}, EventType::NodeDataChanged, 3},
       Trigger{"/", {WatchType::Child}, EventType::NodeChildrenChanged, std::nullopt}}};
  const UserRecord back = UserRecord::from_object(node.to_object());
  CHECK(back.is_node());
  CHECK(back.data == node.data);
  CHECK(back.stat == node.stat);
  CHECK(back.children == node.children);
  CHECK(back.zxid == 9);
  CHECK(back.epoch == node.epoch);
  REQUIRE(back.update.has_value());
  REQUIRE(back.update->triggers.size() == 2);
  CHECK(back.update->triggers[0].czxid == 3);
  CHECK_FALSE(back.update->triggers[1].czxid.has_value());
  CHECK(back.update->triggers[1].event == EventType::NodeChildrenChanged);

  UserRecord tomb;
  tomb.tombstone = 11;
  tomb.zxid = 11;
  const UserRecord t = UserRecord::from_object(tomb.to_object());
  CHECK_FALSE(t.is_node());
  CHECK(t.version_zxid() == 11);
  // A record of the initial tree has no zxid.
  UserRecord initial;
  initial.stat = Stat{};
  CHECK(UserRecord::from_object(initial.to_object()).version_zxid() == 0);
  CHECK_FALSE(initial.to_object().contains("zxid"));
}

TEST_CASE("watch messages and answers round-trip", "[records]") {
  WatchMessage m;
  m.zxid = 7;
  m.owed = {"s1", "s2"};
  m.events["s1"] = {FiredEvent{"s1:w1", EventType::NodeDeleted, "/a"}};
  m.fired["/a\ndata"] = {"s1:w1"};
  m.fired["/b\nchild"] = {};  // nothing fired at this key: not sent
  m.events["s3"] = {FiredEvent{"s3:w1", EventType::NodeCreated, "/a"},
                    FiredEvent{"s3:w2", EventType::NodeChildrenChanged, "/"}};
  const Value body = m.to_message();
  REQUIRE(body.is_bytes());  // packed (decision 43)
  const WatchMessage back = WatchMessage::from_message(body);
  CHECK(back.zxid == 7);
  CHECK(back.owed == m.owed);
  REQUIRE(back.events.size() == 2);
  REQUIRE(back.events.at("s1").size() == 1);
  CHECK(back.events.at("s1")[0].event == EventType::NodeDeleted);
  CHECK(back.events.at("s1")[0].id == "s1:w1");
  CHECK(back.events.at("s1")[0].path == "/a");
  REQUIRE(back.events.at("s3").size() == 2);
  CHECK(back.events.at("s3")[1].event == EventType::NodeChildrenChanged);
  CHECK(back.events.at("s3")[1].path == "/");
  REQUIRE(back.fired.size() == 1);  // the key with nothing fired is not sent
  CHECK(back.fired.at("/a\ndata") == std::vector<std::string>{"s1:w1"});
  // Every cut of the message is refused by name.
  const std::string whole(body.as_bytes().view());
  for (size_t n = 0; n < whole.size(); ++n)
    CHECK_THROWS_AS(WatchMessage::from_message(Value(Bytes(whole.substr(0, n)))),
                    std::invalid_argument);
  CHECK_THROWS_AS(WatchMessage::from_message(Value(Bytes(whole + "x"))), std::invalid_argument);
  CHECK_THROWS_AS(WatchMessage::from_message(Value(ValueMap{{"zxid", 7}})), std::invalid_argument);
  // Names out of order or repeated, and empty lists, are never written: they are damage.
  const std::string out_of_order(
      "\x01\x00\x02\x01"
      "b\x01"
      "a\x00\x00",
      9);
  CHECK_THROWS_WITH(WatchMessage::from_message(Value(Bytes(out_of_order))),
                    Catch::Contains("out of order or repeated"));
  const std::string repeated(
      "\x01\x00\x02\x01"
      "a\x01"
      "a\x00\x00",
      9);
  CHECK_THROWS_WITH(WatchMessage::from_message(Value(Bytes(repeated))),
                    Catch::Contains("out of order or repeated"));
  const std::string empty_key(
      "\x01\x00\x00\x00\x01\x01"
      "k\x00",
      8);
  CHECK_THROWS_WITH(WatchMessage::from_message(Value(Bytes(empty_key))),
                    Catch::Contains("a key without registrations"));

  WriteAnswer a;
  a.req = 3;
  a.zxid = 12;
  a.path = "/n0000000001";
  a.stat = some_stat();
  a.epoch = {EpochEntry{11, {"s9"}}};
  const WriteAnswer b = WriteAnswer::from_value(a.to_value());
  CHECK(b.error == Code::Ok);
  CHECK(b.path == a.path);
  CHECK(b.stat == a.stat);
  CHECK(b.epoch == a.epoch);
  WriteAnswer refused;
  refused.req = 4;
  refused.error = Code::BadVersion;
  CHECK(WriteAnswer::from_value(refused.to_value()).error == Code::BadVersion);

  const WatchRegistration r{"s1:w3", "s1", 17, "exists", false};
  const WatchRegistration rb = WatchRegistration::from_value(r.to_value());
  CHECK((rb.id == r.id && rb.session == r.session && rb.zxid == 17 && rb.op == "exists" &&
         !rb.existed));
}

TEST_CASE("watch registrations are stored packed and read back exactly", "[records]") {
  for (const char* op : {"get_data", "exists", "get_children"})
    for (bool existed : {true, false})
      for (int64_t zxid : {int64_t{0}, int64_t{1}, int64_t{-1}, INT64_MAX}) {
        const WatchRegistration r{"sess-7:w12", "sess-7", zxid, op, existed};
        const Value v = r.to_value();
        REQUIRE(v.is_bytes());
        const WatchRegistration back = WatchRegistration::from_value(v);
        CHECK(back.id == r.id);
        CHECK(back.session == r.session);
        CHECK(back.zxid == zxid);
        CHECK(back.op == op);
        CHECK(back.existed == existed);
        CHECK(WatchRegistration::id_of(v) == "sess-7:w12");
        const std::string whole(v.as_bytes().view());
        for (size_t n = 0; n < whole.size(); ++n)
          CHECK_THROWS_AS(WatchRegistration::from_value(Value(Bytes(whole.substr(0, n)))),
                          std::invalid_argument);
        CHECK_THROWS_AS(WatchRegistration::from_value(Value(Bytes(whole + "\x01"))),
                        std::invalid_argument);
      }
  // An operation that sets no watch cannot be stored; a stored one of no known code is refused.
  CHECK_THROWS_AS((WatchRegistration{"s:w1", "s", 1, "set_data", true}.to_value()),
                  std::invalid_argument);
  std::string bad(WatchRegistration{"s:w1", "s", 1, "exists", true}.to_value().as_bytes().view());
  bad[bad.size() - 2] = 5;  // (0-4: get_data, exists, get_children, persistent, recursive)
  CHECK_THROWS_WITH(WatchRegistration::from_value(Value(Bytes(bad))),
                    Catch::Contains("an unknown operation"));
  bad[bad.size() - 2] = 1;
  bad.back() = 2;
  CHECK_THROWS_WITH(WatchRegistration::from_value(Value(Bytes(bad))),
                    Catch::Contains("existed flag"));
  // The registration list reads every registration, and keeps its version.
  const Value item(ValueMap{
      {"regs", Value(ValueList{WatchRegistration{"a:w1", "a", 3, "get_data", true}.to_value(),
                               WatchRegistration{"b:w1", "b", 0, "exists", false}.to_value()})},
      {"ver", 2}});
  const WatchList l = WatchList::from_item(item);
  REQUIRE(l.regs.size() == 2);
  CHECK(l.regs[1].session == "b");
  CHECK_FALSE(l.regs[1].existed);
  CHECK(l.ver == 2);
}

TEST_CASE("system-store records read partial items as the protocol wrote them", "[records]") {
  // An item a lock alone made: no node, no session, a lock.
  const Value stub(ValueMap{{"lock", 5}, {"lock_owner", "a3@4"}});
  const NodeRecord n = NodeRecord::from_item(stub);
  CHECK_FALSE(n.node.exists);
  CHECK(n.book.locked_by(LockOwner{3, 4}));
  CHECK_FALSE(n.book.locked_by(LockOwner{3, 5}));
  const SessionRecord s = SessionRecord::from_item(stub);
  CHECK_FALSE(s.alive);
  CHECK(s.lock_stub);

  SessionRecord fresh;
  fresh.alive = true;
  fresh.timeout_ms = 4000;
  fresh.last_seen = 77;
  const SessionRecord back = SessionRecord::from_item(fresh.to_new_item());
  CHECK(back.alive);
  CHECK_FALSE(back.lock_stub);
  CHECK(back.timeout_ms == 4000);
  CHECK(back.last_seen == 77);
  CHECK(back.last_req == 0);

  const Value failed(ValueMap{{"alive", true},
                              {"last_req", 4},
                              {"last_error", LastError{4, Code::NoNode}.to_value()},
                              {"pending", Value::strings({"u1", "u2"})}});
  const SessionRecord f = SessionRecord::from_item(failed);
  REQUIRE(f.last_error.has_value());
  CHECK(f.last_error->error == Code::NoNode);
  CHECK(f.book.has_pending("u2"));
  CHECK_FALSE(f.book.has_pending("u3"));
}

TEST_CASE("shared bytes are never copied by copying the holder", "[records]") {
  const Bytes payload(std::string(65536, 'x'));
  const Bytes copy = payload;
  CHECK(copy.shares_buffer_with(payload));
  SetDataRequest r{"/a", payload, -1};
  WriteRequest w{"s", 1, r};
  CHECK(w.data()->shares_buffer_with(payload));
  CHECK(Bytes("ab") == Bytes(std::string("ab")));
  CHECK_FALSE(Bytes("ab").shares_buffer_with(Bytes("ab")));
  CHECK(Bytes().empty());
}

TEST_CASE("a stat is stored packed and read back exactly", "[records][stat]") {
  Stat s = some_stat();
  s.czxid = INT64_MAX;
  s.mtime = -1;  // never written by the protocol, still kept
  s.version = INT32_MIN;
  s.num_children = INT32_MAX;
  s.ephemeral_owner = std::string("owner\0with a nul", 16);
  const Value v = stat_to_value(s);
  REQUIRE(v.is_bytes());
  CHECK(stat_from_value(v) == s);
  CHECK(stat_from_json(stat_to_json(s)) == s);
  Stat plain;
  plain.czxid = plain.mzxid = plain.pzxid = 5;
  CHECK(stat_from_value(stat_to_value(plain)) == plain);
  // Much smaller than a map of eleven named numbers.
  CHECK(stat_to_value(plain).as_bytes().size() < 16);
  // A damaged stat is refused by name, never read past its end: every cut, bytes beyond its
  // end, another layout, an owner flag other than 0, 1 or 2, another type.
  const std::string whole(v.as_bytes().view());
  for (size_t cut = 0; cut < whole.size(); ++cut)
    CHECK_THROWS_WITH(stat_from_value(Value(Bytes(whole.substr(0, cut)))),
                      Catch::Contains("a damaged stat"));
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(whole + "x"))),
                    Catch::Contains("bytes beyond its end"));
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(std::string("\x07junk")))),
                    Catch::Contains("an unknown layout"));
  std::string bad_flag(stat_to_value(plain).as_bytes().view());
  bad_flag.back() = 3;
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(bad_flag))),
                    Catch::Contains("an owner flag other than 0, 1 or 2"));
  // A TTL node's time to live (owner flag 2) is kept; flag 2 with none, or a time of 0, is
  // refused.
  Stat ttl = plain;
  ttl.ttl_ms = (int64_t{1} << 40) - 1;
  CHECK(stat_from_value(stat_to_value(ttl)) == ttl);
  CHECK(stat_from_json(stat_to_json(ttl)) == ttl);
  CHECK(stat_to_json(ttl)["ttl_ms"] == ttl.ttl_ms);
  CHECK_FALSE(stat_to_json(plain).contains("ttl_ms"));
  bad_flag.back() = 2;
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(bad_flag))),
                    Catch::Contains("a cut or non-positive time to live"));
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(bad_flag + std::string(1, '\0')))),
                    Catch::Contains("a cut or non-positive time to live"));
  CHECK_THROWS_WITH(stat_from_value(Value(ValueMap{{"czxid", 3}})),
                    Catch::Contains("not packed bytes"));
  std::string wide(1, '\x01');  // the layout, five zero zxids and times, a version of 2^40
  for (int i = 0; i < 5; ++i) put_signed(wide, 0);
  put_signed(wide, int64_t{1} << 40);
  for (int i = 0; i < 4; ++i) put_signed(wide, 0);
  wide.push_back(0);
  CHECK_THROWS_WITH(stat_from_value(Value(Bytes(wide))),
                    Catch::Contains("a 32-bit field out of range"));
  // A damaged stat inside a node is refused too, though the node's own layout is whole.
  std::string node_bytes(NodeState{true, plain, {}, 0}.to_value().as_bytes().view());
  node_bytes[4] = 7;  // layout, exists, creates, the stat's length, then the stat's layout
  CHECK_THROWS_WITH(NodeState::from_value(Value(Bytes(node_bytes))),
                    Catch::Contains("a damaged stat"));
  // The JSON edge names a mistyped field.
  CHECK_THROWS_WITH(stat_from_json(nlohmann::json{{"version", 1.5}}),
                    Catch::Contains("version must be an integer"));
  CHECK_THROWS_WITH(stat_from_json(nlohmann::json{{"ephemeralOwner", 3}}),
                    Catch::Contains("ephemeralOwner must be a string or null"));
  CHECK_THROWS(stat_from_json(nlohmann::json::array()));
  CHECK_THROWS_WITH(stat_from_json(nlohmann::json{{"czxid", UINT64_MAX}}),
                    Catch::Contains("beyond 64 bits"));
}

TEST_CASE("an update's triggers are stored packed and read back exactly", "[records][stat]") {
  UpdateTriggers u;
  u.zxid = 1LL << 40;
  Trigger created{"/a/b\xc3\xa9", {WatchType::Data}, EventType::NodeCreated, 7};
  Trigger parent{"/a", {WatchType::Child}, EventType::NodeChildrenChanged, 1};
  Trigger gone{"/x", {WatchType::Data, WatchType::Child}, EventType::NodeDeleted, std::nullopt};
  u.triggers = {created, parent, gone};
  const Value v = u.to_value();
  REQUIRE(v.is_bytes());
  CHECK(UpdateTriggers::from_value(v) == u);
  CHECK(UpdateTriggers::from_value(UpdateTriggers{}.to_value()) == UpdateTriggers{});
  const json j = u.to_json();
  CHECK(j.at("triggers").at(1).at("event") == "NodeChildrenChanged");
  CHECK(j.at("triggers").at(2).at("types") == json({"data", "child"}));
  CHECK_FALSE(j.at("triggers").at(2).contains("czxid"));
  // The user record carries them so; a damaged one is refused by name, never read past its end.
  UserRecord r;
  r.zxid = 9;
  r.update = u;
  CHECK(UserRecord::from_object(r.to_object()).update == u);
  const std::string whole(v.as_bytes().view());
  for (size_t cut = 0; cut < whole.size(); ++cut)
    CHECK_THROWS_WITH(UpdateTriggers::from_value(Value(Bytes(whole.substr(0, cut)))),
                      Catch::Contains("a damaged update in a user record"));
  CHECK_THROWS_WITH(UpdateTriggers::from_value(Value(Bytes(whole + "x"))),
                    Catch::Contains("bytes beyond its end"));
  std::string bad_event = whole;
  bad_event[1 + 6 + 1 + 1 + created.path.size()] = 9;  // layout, zxid, count, length, path
  CHECK_THROWS_WITH(UpdateTriggers::from_value(Value(Bytes(bad_event))),
                    Catch::Contains("unknown event"));
  CHECK_THROWS_WITH(UpdateTriggers::from_value(Value(ValueMap{{"zxid", 1}})),
                    Catch::Contains("not packed bytes"));
}

TEST_CASE("a node's fields are stored packed in one attribute and read back exactly",
          "[records][stat]") {
  NodeState n{true, some_stat(), {"a", "b\xc3\xa9", std::string("n\0ul", 4)}, 1LL << 33};
  const Value v = n.to_value();
  REQUIRE(v.is_bytes());
  CHECK(NodeState::from_value(v) == n);
  CHECK(NodeState::from_value(NodeState{}.to_value()) == NodeState{});
  CHECK(NodeState::from_value(Value()) == NodeState{});  // an item a lock alone made
  // The item carries it as `node`, beside the lock and the pending updates.
  Value item(ValueMap{{"lock", 5}, {"lock_owner", "a1@2"}, {"node", v}});
  const NodeRecord r = NodeRecord::from_item(item);
  CHECK(r.node == n);
  CHECK(r.book.lock_owner == std::optional<std::string>("a1@2"));
  REQUIRE(n.set_updates().size() == 1);
  CHECK(n.set_updates()[0].attr == "node");
  CHECK(n.to_json().at("children").size() == 3);
  // Damaged: refused by name at every cut, and with bytes beyond its end.
  const std::string whole(v.as_bytes().view());
  for (size_t cut = 0; cut < whole.size(); ++cut)
    CHECK_THROWS_WITH(NodeState::from_value(Value(Bytes(whole.substr(0, cut)))),
                      Catch::Contains("a damaged node record"));
  CHECK_THROWS_WITH(NodeState::from_value(Value(Bytes(whole + "x"))),
                    Catch::Contains("bytes beyond its end"));
  CHECK_THROWS_WITH(NodeState::from_value(Value(ValueMap{{"exists", true}})),
                    Catch::Contains("not packed bytes"));
}

TEST_CASE("a user record keeps data, zxid and tombstone apart and packs the rest",
          "[records][stat]") {
  UserRecord r;
  r.data = Bytes(std::string("payload"));
  r.stat = some_stat();
  r.children = {"a", "b"};
  r.zxid = 12;
  r.epoch = {{10, {"s1", "s2"}}, {11, {}}};
  r.update = UpdateTriggers{12, {{"/n", {WatchType::Data}, EventType::NodeDataChanged, 3}}};
  const Value object = r.to_object();
  CHECK(object.at("data").as_bytes().shares_buffer_with(r.data));
  CHECK(UserRecord::zxid_of(object) == 12);
  CHECK(object.as_map().size() == 4);  // data, record, zxid, and the update's triggers
  const UserRecord back = UserRecord::from_object(object);
  CHECK((back.data == r.data && back.stat == r.stat && back.children == r.children &&
         back.zxid == 12 && back.update == r.update && !back.tombstone));
  REQUIRE(back.epoch.size() == 2);
  CHECK((back.epoch[0].zxid == 10 && back.epoch[0].sessions == r.epoch[0].sessions));
  CHECK(back.epoch[1].sessions.empty());
  CHECK(back.to_json().at("epoch").at(0).at("sessions").size() == 2);
  // Damaged: every cut of the packed part, and an object without one, are refused by name.
  const std::string whole(object.at("record").as_bytes().view());
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    Value damaged = object;
    damaged.as_map().set("record", Bytes(whole.substr(0, cut)));
    CHECK_THROWS_WITH(UserRecord::from_object(damaged), Catch::Contains("a damaged user record"));
  }
  CHECK_THROWS_WITH(UserRecord::from_object(Value(ValueMap{{"zxid", 1}})),
                    Catch::Contains("no packed record"));
  // The update's triggers are decoded only when asked for, and the records of one update can
  // share them already packed (the distributor's packed_update).
  bool asked = false;
  const UserRecord skipped = UserRecord::from_object(object, [&](int64_t zxid) {
    asked = zxid == 12;
    return false;
  });
  CHECK(asked);
  CHECK_FALSE(skipped.update);
  UserRecord shared = r;
  shared.update.reset();
  shared.packed_update = r.update->to_value();
  const Value shared_object = shared.to_object();
  CHECK(shared_object.at("update").as_bytes().shares_buffer_with(shared.packed_update.as_bytes()));
  CHECK(UserRecord::from_object(shared_object).update == r.update);
  // A record of format 8 or older has the triggers inline (flag 1): still read.
  std::string inline_record(object.at("record").as_bytes().view());
  std::string packed_triggers;
  r.update->append_packed(packed_triggers);
  inline_record.back() = 1;  // (the flags byte is last: no ACL)
  inline_record.push_back(static_cast<char>(packed_triggers.size()));  // (a one-byte varint)
  inline_record += packed_triggers;
  Value old_object = object;
  old_object.as_map().set("record", Bytes(inline_record));
  old_object.as_map().erase("update");
  CHECK(UserRecord::from_object(old_object).update == r.update);
}

TEST_CASE("packed readers refuse random bytes by name, never read past them", "[records][stat]") {
  // Each reader either decodes or throws std::invalid_argument: no other exception, and under
  // the sanitizers no read outside the buffer. The first byte is the layout's most of the time.
  std::mt19937_64 rng(41);
  size_t decoded = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 3);
    if (!bytes.empty() && rng() % 8 != 0) bytes[0] = 1;
    const Value v{Bytes(bytes)};
    auto attempt = [&](auto read) {
      try {
        read();
        ++decoded;
      } catch (const std::invalid_argument&) {
        ++refused;
      }
    };
    attempt([&] { (void)stat_from_value(v); });
    attempt([&] { (void)NodeState::from_value(v); });
    attempt([&] { (void)UpdateTriggers::from_value(v); });
    attempt([&] { (void)UserRecord::from_object(Value(ValueMap{{"record", v}, {"zxid", 1}})); });
    attempt([&] { (void)WatchRegistration::from_value(v); });
    attempt([&] { (void)WatchMessage::from_message(v); });
  }
  CHECK(decoded + refused == 120000);
  CHECK(refused > 0);
}

TEST_CASE("an add_watch request, its update and a persistent registration round-trip",
          "[records][watch]") {
  WriteRequest r;
  r.session = "s";
  r.req_no = 3;
  r.op = AddWatchRequest{"/a/b", true, "s:w7"};
  const WriteRequest back = WriteRequest::from_message(r.to_message());
  REQUIRE(back.kind() == WriteOp::AddWatch);
  const auto& w = std::get<AddWatchRequest>(back.op);
  CHECK(w.path == "/a/b");
  CHECK(w.recursive);
  CHECK(w.id == "s:w7");
  UpdateMessage u;
  u.uid = "s:3:a1@1";
  u.session = "s";
  u.req = 3;
  u.op = WriteOp::AddWatch;
  u.anchor = {"sessions", "s"};
  u.watch = w;
  const UpdateMessage u2 = UpdateMessage::from_message(u.to_message());
  REQUIRE(u2.watch.has_value());
  CHECK(u2.watch->id == "s:w7");
  CHECK(u2.changes.empty());
  for (const char* op : {"persistent", "recursive"}) {
    WatchRegistration reg;
    reg.id = "s:w7";
    reg.session = "s";
    reg.zxid = 12;
    reg.op = op;
    CHECK(WatchRegistration::from_value(reg.to_value()).op == op);
  }
  CHECK(watch_type_from_name("recursive") == WatchType::Recursive);
  CHECK(watch_type_from_name(watch_type_name(WatchType::Persistent)) == WatchType::Persistent);
}
