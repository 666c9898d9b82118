// Tests of MemoryObjectStore: read-after-write consistency, overwrite, delete, ordered listing.
#include "emulator/memory_object_store.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

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
