// ZooKeeper's path rules (PathUtils.validatePath), rule by rule.
#include "core/model/path.h"

#include <catch2/catch.hpp>

using namespace fkemu;

TEST_CASE("valid paths pass", "[path]") {
  for (const char* p :
       {"/", "/a", "/a/b", "/a-b_c.d", "/a/..b", "/a/b..", "/\xc3\xa9t\xc3\xa9", "/zookeeper"})
    CHECK(validate_path(p).is_ok());
}

TEST_CASE("each rule is named in the error", "[path]") {
  struct Case {
    std::string path;
    std::string words;
  };
  const Case cases[] = {
      {"", "empty"},
      {"a", "start with /"},
      {"/a/", "end with /"},
      {"/a//b", "empty node name"},
      {"/a/./b", "relative"},
      {"/a/../b", "relative"},
      {"/a/.", "relative"},
      {"/..", "relative"},
      {std::string("/a\0b", 4), "null character"},
      {"/a\x01", "invalid character"},
      {"/a\x7f", "invalid character"},
      {"/a\xef\xbf\xbf", "invalid character"},      // U+FFFF
      {"/a\xf0\x9f\x98\x80", "invalid character"},  // outside the BMP: a surrogate pair in Java
  };
  for (const auto& c : cases) {
    INFO(c.path);
    Status s = validate_path(c.path);
    CHECK(s.code() == Code::BadArguments);
    CHECK_THAT(s.message(), Catch::Contains(c.words));
  }
}

TEST_CASE("a sequential create is validated with its suffix", "[path]") {
  CHECK(validate_path("/a/", true).is_ok());
  CHECK(validate_path("/a/.", true).is_ok());
  CHECK_FALSE(validate_path("/a/", false).is_ok());
  CHECK_FALSE(validate_client_path("/a//", true).is_ok());
  CHECK_FALSE(validate_client_path("a", true).is_ok());
}

TEST_CASE("the C client checks only bytes 0x01-0x1e; the server checks more", "[path]") {
  CHECK(validate_client_path("/a\x1f").is_ok());
  CHECK_FALSE(validate_path("/a\x1f").is_ok());
  CHECK(validate_client_path("/a\x7f").is_ok());
  CHECK(validate_client_path("/a\xef\xbf\xbf").is_ok());
  CHECK_FALSE(validate_client_path("/a\x1e").is_ok());
  CHECK_FALSE(validate_client_path(std::string("/a\0", 3)).is_ok());
  CHECK(
      validate_path("/a b/\xc2\xa0/\xe4\xb8\xad/\xef\xbf\xaf").is_ok());  // U+00A0, U+4E2D, U+FFEF
}

TEST_CASE("parent, base name and child path", "[path]") {
  CHECK(parent_path("/a/b/c") == "/a/b");
  CHECK(parent_path("/a") == "/");
  CHECK(base_name("/a/b") == "b");
  CHECK(child_path("/", "x") == "/x");
  CHECK(child_path("/a", "x") == "/a/x");
  CHECK(is_reserved_path("/zookeeper"));
  CHECK(is_reserved_path("/zookeeper/quota"));
  CHECK_FALSE(is_reserved_path("/zookeeperx"));
}

TEST_CASE("every error has its ZooKeeper name and code", "[status]") {
  CHECK(code_name(Code::NoNode) == "NoNode");
  CHECK(static_cast<int>(Code::NoNode) == -101);
  CHECK(static_cast<int>(Code::NodeExists) == -110);
  CHECK(static_cast<int>(Code::SessionExpired) == -112);
  CHECK(code_from_name("NoChildrenForEphemerals") == Code::NoChildrenForEphemerals);
  CHECK_FALSE(code_from_name("NoSuchThing").has_value());
}
