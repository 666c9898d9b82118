// Tests of MemoryObjectStore (and the KV-backed user store): read-after-write consistency,
// overwrite, delete, ordered listing, conditional puts.
#include "emulator/memory_object_store.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "emulator/kv_object_store.h"
#include "emulator/memory_kv_store.h"

namespace {

using fkemu::Code;
using fkemu::MemoryObjectStore;
using nlohmann::json;

}  // namespace

TEST_CASE("get sees the last put, overwrite replaces the whole object", "[object]") {
  MemoryObjectStore s;
  CHECK_FALSE(s.get("/a").has_value());
  REQUIRE(s.put("/a", {{"data", "v1"}, {"version", 1}}).is_ok());
  CHECK(s.get("/a") == json{{"data", "v1"}, {"version", 1}});
  REQUIRE(s.put("/a", {{"data", "v2"}}).is_ok());
  CHECK(s.get("/a") == json{{"data", "v2"}});  // no merge with the old object
  CHECK_FALSE(s.get("/b").has_value());
}

TEST_CASE("remove deletes an object; an absent one is NotFound", "[object]") {
  MemoryObjectStore s;
  REQUIRE(s.put("/a", json(1)).is_ok());
  REQUIRE(s.put("/b", json(2)).is_ok());
  CHECK(s.remove("/a").is_ok());
  CHECK_FALSE(s.get("/a").has_value());
  CHECK(s.remove("/a").code() == Code::NotFound);
  CHECK(s.remove("/never").code() == Code::NotFound);
  CHECK(s.get("/b") == json(2));
  REQUIRE(s.put("/a", json(3)).is_ok());  // a removed key can be written again
  CHECK(s.get("/a") == json(3));
}

TEST_CASE("list returns every object ordered by key", "[object]") {
  MemoryObjectStore s;
  CHECK(s.list().empty());
  REQUIRE(s.put("/b", json("b")).is_ok());
  REQUIRE(s.put("/a/c", json("ac")).is_ok());
  REQUIRE(s.put("/a", json("a")).is_ok());
  REQUIRE(s.put("/b", json("b2")).is_ok());
  auto all = s.list();
  REQUIRE(all.size() == 3);
  CHECK(all[0] == std::pair<std::string, json>{"/a", "a"});
  CHECK(all[1] == std::pair<std::string, json>{"/a/c", "ac"});
  CHECK(all[2] == std::pair<std::string, json>{"/b", "b2"});
  REQUIRE(s.remove("/a/c").is_ok());
  CHECK(s.list().size() == 2);
}

TEST_CASE("objects are stored by value and keep binary data", "[object]") {
  MemoryObjectStore s;
  json object = {{"data", json::binary({0x00, 0xff, 0x10})}};
  REQUIRE(s.put("/bin", object).is_ok());
  object["data"] = "changed";  // the caller's copy
  auto got = s.get("/bin");
  REQUIRE(got.has_value());
  REQUIRE(got->at("data").is_binary());
  CHECK(static_cast<const std::vector<std::uint8_t>&>(got->at("data").get_binary()) ==
        std::vector<std::uint8_t>{0x00, 0xff, 0x10});
  (*got)["data"] = "changed";  // the returned copy
  CHECK(s.get("/bin")->at("data").is_binary());
  // A megabyte object round-trips.
  REQUIRE(s.put("/big", json{{"data", std::string(1 << 20, 'z')}}).is_ok());
  CHECK(s.get("/big")->at("data").get_ref<const std::string&>().size() == (1u << 20));
}

TEST_CASE("conditional puts: If-Match on the entity tag, If-None-Match with an empty tag",
          "[object]") {
  MemoryObjectStore s;
  CHECK(s.put_if("/a", json(1), "").is_ok());  // absent: If-None-Match succeeds
  CHECK(s.put_if("/a", json(2), "").code() ==
        Code::ConditionFailed);  // present now: fails, nothing written
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(t1->object == json(1));
  CHECK(s.put_if("/a", json(3), t1->etag).is_ok());
  CHECK(s.put_if("/a", json(4), t1->etag).code() ==
        Code::ConditionFailed);  // the tag changed with the put
  auto t2 = s.get_tagged("/a");
  REQUIRE(t2.has_value());
  CHECK(t2->object == json(3));
  CHECK(t2->etag != t1->etag);
  REQUIRE(s.put("/a", json(5)).is_ok());  // a plain put changes the tag too
  CHECK(s.put_if("/a", json(6), t2->etag).code() == Code::ConditionFailed);
  CHECK(s.get("/a") == json(5));
  CHECK(s.put_if("/b", json(1), t2->etag).code() ==
        Code::ConditionFailed);  // If-Match on an absent object fails
  CHECK_FALSE(s.get("/b").has_value());
  CHECK_FALSE(s.get_tagged("/b").has_value());
}

TEST_CASE("the KV-backed user store has the same conditional puts", "[object]") {
  fkemu::MemoryKvStore kv;
  fkemu::KvObjectStore s(kv);
  CHECK(s.put_if("/a", json(1), "").is_ok());
  CHECK(s.put_if("/a", json(2), "").code() == Code::ConditionFailed);
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(s.put_if("/a", json(3), t1->etag).is_ok());
  CHECK(s.put_if("/a", json(4), t1->etag).code() == Code::ConditionFailed);
  CHECK(s.put_if("/a", json(4), "not-a-tag").code() == Code::ConditionFailed);
  CHECK(s.get("/a") == json(3));
  CHECK(s.list().size() == 1);
}
