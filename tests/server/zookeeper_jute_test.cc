// fkemu's jute codec (apps/server/jute.h) against the codecs ZooKeeper generates for its C
// client (zookeeper.jute.h, recordio.h in libzookeeper_mt): what one writes the other reads,
// field for field; and the reader refuses what is cut or lies about its lengths.
#include <zookeeper/recordio.h>
#include <zookeeper/zookeeper.jute.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "apps/server/jute.h"

namespace fkemu {
namespace {

// What a C-client archive holds.
std::string bytes_of(oarchive* oa) {
  return std::string(get_buffer(oa), static_cast<size_t>(get_buffer_len(oa)));
}

TEST_CASE("a ConnectRequest written by the C client's codec reads back field for field",
          "[server][zookeeper][jute]") {
  char password[16];
  for (int i = 0; i < 16; ++i) password[i] = static_cast<char>(i * 17);
  ConnectRequest req{};
  req.protocolVersion = 0;
  req.lastZxidSeen = 0x1234567890ll;
  req.timeOut = 30000;
  req.sessionId = -0x7edcba9876543210ll;
  req.passwd.len = 16;
  req.passwd.buff = password;
  oarchive* oa = create_buffer_oarchive();
  REQUIRE(serialize_ConnectRequest(oa, "req", &req) == 0);
  const std::string wire = bytes_of(oa);
  close_buffer_oarchive(&oa, 1);

  jute::Reader in(wire);
  CHECK(in.i32() == 0);
  CHECK(in.i64() == 0x1234567890ll);
  CHECK(in.i32() == 30000);
  CHECK(in.i64() == -0x7edcba9876543210ll);
  CHECK(in.buffer() == std::string(password, 16));
  CHECK(in.ok());
  CHECK(in.left() == 0);
}

TEST_CASE("a Stat, a GetDataResponse and a WatcherEvent written by fkemu read back in C",
          "[server][zookeeper][jute]") {
  Stat s;
  s.czxid = 5;
  s.mzxid = 7;
  s.pzxid = 9;
  s.ctime = 1700000000123;
  s.mtime = 1700000000456;
  s.version = 3;
  s.cversion = -2;
  s.aversion = 1;
  s.data_length = 4;
  s.num_children = 2;
  jute::Writer w;
  w.buffer("data");
  w.stat(s, 0x0123456789abcdefll);
  std::string wire = w.bytes();
  iarchive* ia = create_buffer_iarchive(wire.data(), static_cast<int>(wire.size()));
  GetDataResponse got{};
  REQUIRE(deserialize_GetDataResponse(ia, "r", &got) == 0);
  close_buffer_iarchive(&ia);
  CHECK(std::string(got.data.buff, static_cast<size_t>(got.data.len)) == "data");
  CHECK(got.stat.czxid == 5);
  CHECK(got.stat.mzxid == 7);
  CHECK(got.stat.pzxid == 9);
  CHECK(got.stat.ctime == 1700000000123);
  CHECK(got.stat.mtime == 1700000000456);
  CHECK(got.stat.version == 3);
  CHECK(got.stat.cversion == -2);
  CHECK(got.stat.aversion == 1);
  CHECK(got.stat.ephemeralOwner == 0x0123456789abcdefll);
  CHECK(got.stat.dataLength == 4);
  CHECK(got.stat.numChildren == 2);
  deallocate_GetDataResponse(&got);

  jute::Writer e;
  e.i32(4);
  e.i32(jute::kSyncConnected);
  e.buffer("/a/b");
  std::string event = e.bytes();
  ia = create_buffer_iarchive(event.data(), static_cast<int>(event.size()));
  WatcherEvent we{};
  REQUIRE(deserialize_WatcherEvent(ia, "e", &we) == 0);
  close_buffer_iarchive(&ia);
  CHECK(we.type == 4);
  CHECK(we.state == 3);
  CHECK(std::string(we.path) == "/a/b");
  deallocate_WatcherEvent(&we);
}

TEST_CASE("SetWatches and GetChildrenResponse: string vectors both ways",
          "[server][zookeeper][jute]") {
  char a[] = "/x", b[] = "/y/z";
  char* data[] = {a, b};
  SetWatches sw{};
  sw.relativeZxid = 42;
  sw.dataWatches.count = 2;
  sw.dataWatches.data = data;
  sw.existWatches.count = 0;
  sw.existWatches.data = nullptr;
  sw.childWatches.count = 1;
  sw.childWatches.data = data + 1;
  oarchive* oa = create_buffer_oarchive();
  REQUIRE(serialize_SetWatches(oa, "w", &sw) == 0);
  const std::string wire = bytes_of(oa);
  close_buffer_oarchive(&oa, 1);
  jute::Reader in(wire);
  CHECK(in.i64() == 42);
  CHECK(in.strings("data") == std::vector<std::string>{"/x", "/y/z"});
  CHECK(in.strings("exist").empty());
  CHECK(in.strings("child") == std::vector<std::string>{"/y/z"});
  CHECK(in.ok());
  CHECK(in.left() == 0);

  jute::Writer w;
  w.strings({"c1", "", "c3"});
  std::string out = w.bytes();
  iarchive* ia = create_buffer_iarchive(out.data(), static_cast<int>(out.size()));
  GetChildrenResponse got{};
  REQUIRE(deserialize_GetChildrenResponse(ia, "c", &got) == 0);
  close_buffer_iarchive(&ia);
  REQUIRE(got.children.count == 3);
  CHECK(std::string(got.children.data[0]) == "c1");
  CHECK(std::string(got.children.data[1]).empty());
  CHECK(std::string(got.children.data[2]) == "c3");
  deallocate_GetChildrenResponse(&got);
}

TEST_CASE("the reader refuses cut records and lengths beyond the bytes, naming them",
          "[server][zookeeper][jute]") {
  SECTION("a cut int") {
    const std::string bytes("\x00\x00", 2);
    jute::Reader in(bytes);
    CHECK(in.i32() == 0);
    CHECK_FALSE(in.ok());
    CHECK(in.error().find("cut off") != std::string::npos);
  }
  SECTION("a buffer longer than what is left") {
    const std::string bytes(
        "\x00\x00\x00\x09"
        "abc",
        7);
    jute::Reader in(bytes);
    CHECK_FALSE(in.buffer().has_value());
    CHECK_FALSE(in.ok());
  }
  SECTION("a negative length other than -1") {
    const std::string bytes("\xff\xff\xff\xfe", 4);
    jute::Reader in(bytes);
    CHECK_FALSE(in.buffer().has_value());
    CHECK(in.error().find("negative length") != std::string::npos);
  }
  SECTION("null is not a path") {
    const std::string bytes("\xff\xff\xff\xff", 4);
    jute::Reader in(bytes);
    (void)in.text("the path");
    CHECK(in.error() == "the path is null");
  }
  SECTION("a vector whose count cannot fit") {
    const std::string bytes(
        "\x10\x00\x00\x00"
        "abcd",
        8);
    jute::Reader in(bytes);
    CHECK(in.strings("children").empty());
    CHECK(in.error().find("children: a count of") != std::string::npos);
  }
  SECTION("after a failure every read is zero") {
    const std::string bytes("\x01", 1);
    jute::Reader in(bytes);
    (void)in.i64();
    CHECK(in.i32() == 0);
    CHECK_FALSE(in.boolean());
    CHECK(in.left() == 0);
  }
}

}  // namespace
}  // namespace fkemu
