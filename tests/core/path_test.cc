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

TEST_CASE("the client checks every character rule, as ZooKeeper's Java client does", "[path]") {
  // U+001F, U+007F-U+009F, U+E000-U+F8FF and U+FFF0 up: once passed by the client (the C
  // client's rule), so exists answered null where the Java client refuses (issue 13).
  for (const char* p : {"/a\x1f", "/a\x7f", "/a\xc2\x9f", "/a\xee\x80\x80", "/a\xef\xa3\xbf",
                        "/a\xef\xbf\xb0", "/a\xef\xbf\xbf"}) {
    INFO(p);
    const Status s = validate_client_path(p);
    CHECK(s.code() == Code::BadArguments);
    CHECK(s.message() == "invalid character @2");
  }
  CHECK_FALSE(validate_client_path("/a//", true).is_ok());
  CHECK(validate_client_path("/a/", true).is_ok());
  CHECK(
      validate_path("/a b/\xc2\xa0/\xe4\xb8\xad/\xef\xbf\xaf").is_ok());  // U+00A0, U+4E2D, U+FFEF
}

TEST_CASE("positions are counted in UTF-16 code units, as ZooKeeper's messages give them",
          "[path]") {
  CHECK(validate_path("/\xc3\xa9\xc2\x80").message() == "invalid character @2");  // é is one unit
  CHECK(validate_path("/\xf0\x9f\x98\x80").message() == "invalid character @1");
  CHECK(validate_path("/a/./b").message() == "relative paths not allowed @3");
  CHECK(validate_path("/a/..").message() == "relative paths not allowed @4");
  CHECK(validate_path("/a//b").message() == "empty node name specified @3");
  CHECK(validate_path(std::string("/\xe4\xb8\xad\0", 5)).message() ==
        "null character not allowed @2");
  CHECK(validate_path("/\xe4\xb8\xad/.").message() == "relative paths not allowed @3");
  // A name ends where the next decoded character is '/', an overlong C0 AF included (the
  // decoder reads it as '/'; a byte-wise look ahead once let these pass).
  CHECK(validate_path("/a/.\xc0\xaf"
                      "b")
            .message() == "relative paths not allowed @3");
  CHECK(validate_path("/..\xc0\xaf"
                      "x")
            .message() == "relative paths not allowed @2");
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
