// Tests of MemoryObjectStore (and the KV-backed user store): read-after-write consistency,
// overwrite, delete, ordered listing, conditional puts.
#include "emulator/memory_object_store.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emulator/kv_object_store.h"
#include "emulator/memory_kv_store.h"

namespace {

using fkemu::Bytes;
using fkemu::Code;
using fkemu::MemoryObjectStore;
using fkemu::StoredObject;
using fkemu::Value;
using fkemu::ValueMap;

// The stored object, or null (no object): what a get compares against.
Value got(const StoredObject& o) { return o ? *o : Value(); }

}  // namespace

TEST_CASE("get sees the last put, overwrite replaces the whole object", "[object]") {
  MemoryObjectStore s;
  CHECK_FALSE(s.get("/a"));
  REQUIRE(s.put("/a", ValueMap{{"data", "v1"}, {"version", 1}}).is_ok());
  CHECK(got(s.get("/a")) == Value(ValueMap{{"data", "v1"}, {"version", 1}}));
  REQUIRE(s.put("/a", ValueMap{{"data", "v2"}}).is_ok());
  CHECK(got(s.get("/a")) == Value(ValueMap{{"data", "v2"}}));  // no merge with the old object
  CHECK_FALSE(s.get("/b"));
}

TEST_CASE("remove deletes an object; an absent one is NotFound", "[object]") {
  MemoryObjectStore s;
  REQUIRE(s.put("/a", Value(1)).is_ok());
  REQUIRE(s.put("/b", Value(2)).is_ok());
  CHECK(s.remove("/a").is_ok());
  CHECK_FALSE(s.get("/a"));
  CHECK(s.remove("/a").code() == Code::NotFound);
  CHECK(s.remove("/never").code() == Code::NotFound);
  CHECK(got(s.get("/b")) == Value(2));
  REQUIRE(s.put("/a", Value(3)).is_ok());  // a removed key can be written again
  CHECK(got(s.get("/a")) == Value(3));
}

TEST_CASE("list returns every object ordered by key", "[object]") {
  MemoryObjectStore s;
  CHECK(s.list().empty());
  REQUIRE(s.put("/b", Value("b")).is_ok());
  REQUIRE(s.put("/a/c", Value("ac")).is_ok());
  REQUIRE(s.put("/a", Value("a")).is_ok());
  REQUIRE(s.put("/b", Value("b2")).is_ok());
  auto all = s.list();
  REQUIRE(all.size() == 3);
  CHECK((all[0].first == "/a" && *all[0].second == Value("a")));
  CHECK((all[1].first == "/a/c" && *all[1].second == Value("ac")));
  CHECK((all[2].first == "/b" && *all[2].second == Value("b2")));
  REQUIRE(s.remove("/a/c").is_ok());
  CHECK(s.list().size() == 2);
}

TEST_CASE("objects are stored whole, shared with readers, and keep binary data", "[object]") {
  MemoryObjectStore s;
  const Bytes data(std::string("\x00\xff\x10", 3));
  Value object(ValueMap{{"data", data}});
  REQUIRE(s.put("/bin", object).is_ok());
  object.as_map().set("data", "changed");  // the caller's copy
  auto first = s.get("/bin");
  REQUIRE(first);
  REQUIRE(first->at("data").is_bytes());
  CHECK(first->at("data").as_bytes() == data);
  // Readers share the stored object and its data: no copy, whatever its size.
  const fkemu::StoredObject second = s.get("/bin");
  CHECK(&std::as_const(*second).as_map() == &std::as_const(*first).as_map());
  CHECK(first->at("data").as_bytes().shares_buffer_with(data));
  CHECK(s.data_bytes("/bin") == 3);
  CHECK(s.data_bytes("/none") == 0);
  // A megabyte object round-trips.
  REQUIRE(s.put("/big", ValueMap{{"data", Bytes(std::string(1 << 20, 'z'))}}).is_ok());
  CHECK(s.get("/big")->at("data").as_bytes().size() == (1u << 20));
}

TEST_CASE("conditional puts: If-Match on the entity tag, If-None-Match with an empty tag",
          "[object]") {
  MemoryObjectStore s;
  CHECK(s.put_if("/a", Value(1), "").is_ok());  // absent: If-None-Match succeeds
  CHECK(s.put_if("/a", Value(2), "").code() ==
        Code::ConditionFailed);  // present now: fails, nothing written
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(*t1->object == Value(1));
  CHECK(s.put_if("/a", Value(3), t1->etag).is_ok());
  CHECK(s.put_if("/a", Value(4), t1->etag).code() ==
        Code::ConditionFailed);  // the tag changed with the put
  auto t2 = s.get_tagged("/a");
  REQUIRE(t2.has_value());
  CHECK(*t2->object == Value(3));
  CHECK(t2->etag != t1->etag);
  REQUIRE(s.put("/a", Value(5)).is_ok());  // a plain put changes the tag too
  CHECK(s.put_if("/a", Value(6), t2->etag).code() == Code::ConditionFailed);
  CHECK(got(s.get("/a")) == Value(5));
  CHECK(s.put_if("/b", Value(1), t2->etag).code() ==
        Code::ConditionFailed);  // If-Match on an absent object fails
  CHECK_FALSE(s.get("/b"));
  CHECK_FALSE(s.get_tagged("/b").has_value());
}

TEST_CASE("the KV-backed user store has the same conditional puts", "[object]") {
  fkemu::MemoryKvStore kv;
  fkemu::KvObjectStore s(kv);
  CHECK(s.put_if("/a", Value(1), "").is_ok());
  CHECK(s.put_if("/a", Value(2), "").code() == Code::ConditionFailed);
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(s.put_if("/a", Value(3), t1->etag).is_ok());
  CHECK(s.put_if("/a", Value(4), t1->etag).code() == Code::ConditionFailed);
  CHECK(s.put_if("/a", Value(4), "not-a-tag").code() == Code::ConditionFailed);
  CHECK(got(s.get("/a")) == Value(3));
  CHECK(s.list().size() == 1);
}
