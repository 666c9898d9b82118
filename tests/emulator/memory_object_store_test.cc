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

using fkemu::MemoryObjectStore;
using nlohmann::json;

}  // namespace

TEST_CASE("get sees the last put, overwrite replaces the whole object", "[object]") {
  MemoryObjectStore s;
  CHECK_FALSE(s.get("/a").has_value());
  s.put("/a", {{"data", "v1"}, {"version", 1}});
  CHECK(s.get("/a") == json{{"data", "v1"}, {"version", 1}});
  s.put("/a", {{"data", "v2"}});
  CHECK(s.get("/a") == json{{"data", "v2"}});  // no merge with the old object
  CHECK_FALSE(s.get("/b").has_value());
}

TEST_CASE("remove deletes an object and reports whether it existed", "[object]") {
  MemoryObjectStore s;
  s.put("/a", json(1));
  s.put("/b", json(2));
  CHECK(s.remove("/a"));
  CHECK_FALSE(s.get("/a").has_value());
  CHECK_FALSE(s.remove("/a"));
  CHECK_FALSE(s.remove("/never"));
  CHECK(s.get("/b") == json(2));
  s.put("/a", json(3));  // a removed key can be written again
  CHECK(s.get("/a") == json(3));
}

TEST_CASE("list returns every object ordered by key", "[object]") {
  MemoryObjectStore s;
  CHECK(s.list().empty());
  s.put("/b", json("b"));
  s.put("/a/c", json("ac"));
  s.put("/a", json("a"));
  s.put("/b", json("b2"));
  auto all = s.list();
  REQUIRE(all.size() == 3);
  CHECK(all[0] == std::pair<std::string, json>{"/a", "a"});
  CHECK(all[1] == std::pair<std::string, json>{"/a/c", "ac"});
  CHECK(all[2] == std::pair<std::string, json>{"/b", "b2"});
  s.remove("/a/c");
  CHECK(s.list().size() == 2);
}

TEST_CASE("objects are stored by value and keep binary data", "[object]") {
  MemoryObjectStore s;
  json object = {{"data", json::binary({0x00, 0xff, 0x10})}};
  s.put("/bin", object);
  object["data"] = "changed";  // the caller's copy
  auto got = s.get("/bin");
  REQUIRE(got.has_value());
  REQUIRE(got->at("data").is_binary());
  CHECK(static_cast<const std::vector<std::uint8_t>&>(got->at("data").get_binary()) ==
        std::vector<std::uint8_t>{0x00, 0xff, 0x10});
  (*got)["data"] = "changed";  // the returned copy
  CHECK(s.get("/bin")->at("data").is_binary());
  // A megabyte object round-trips.
  s.put("/big", json{{"data", std::string(1 << 20, 'z')}});
  CHECK(s.get("/big")->at("data").get_ref<const std::string&>().size() == (1u << 20));
}

TEST_CASE("conditional puts: If-Match on the entity tag, If-None-Match with an empty tag",
          "[object]") {
  MemoryObjectStore s;
  CHECK(s.put_if("/a", json(1), ""));        // absent: If-None-Match succeeds
  CHECK_FALSE(s.put_if("/a", json(2), ""));  // present now: fails, nothing written
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(t1->object == json(1));
  CHECK(s.put_if("/a", json(3), t1->etag));
  CHECK_FALSE(s.put_if("/a", json(4), t1->etag));  // the tag changed with the put
  auto t2 = s.get_tagged("/a");
  REQUIRE(t2.has_value());
  CHECK(t2->object == json(3));
  CHECK(t2->etag != t1->etag);
  s.put("/a", json(5));  // a plain put changes the tag too
  CHECK_FALSE(s.put_if("/a", json(6), t2->etag));
  CHECK(s.get("/a") == json(5));
  CHECK_FALSE(s.put_if("/b", json(1), t2->etag));  // If-Match on an absent object fails
  CHECK_FALSE(s.get("/b").has_value());
  CHECK_FALSE(s.get_tagged("/b").has_value());
}

TEST_CASE("the KV-backed user store has the same conditional puts", "[object]") {
  fkemu::MemoryKvStore kv;
  fkemu::KvObjectStore s(kv);
  CHECK(s.put_if("/a", json(1), ""));
  CHECK_FALSE(s.put_if("/a", json(2), ""));
  auto t1 = s.get_tagged("/a");
  REQUIRE(t1.has_value());
  CHECK(s.put_if("/a", json(3), t1->etag));
  CHECK_FALSE(s.put_if("/a", json(4), t1->etag));
  CHECK_FALSE(s.put_if("/a", json(4), "not-a-tag"));
  CHECK(s.get("/a") == json(3));
  CHECK(s.list().size() == 1);
}
