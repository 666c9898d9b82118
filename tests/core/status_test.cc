// Status and Result: errors as values, and a clear report when an error's value is taken.
#include "core/status.h"

#include <catch2/catch.hpp>
#include <string>

using namespace fkemu;

TEST_CASE("a Result holds a value or a status", "[status]") {
  Result<int> ok(7);
  REQUIRE(ok.is_ok());
  CHECK(*ok == 7);
  CHECK(ok.code() == Code::Ok);
  Result<int> bad(Code::NoNode, "/a");
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.code() == Code::NoNode);
  CHECK(bad.status().message() == "/a");
}

// Issue 14: value() of an error threw std::bad_variant_access, which named nothing.
TEST_CASE("taking the value of an error reports the status", "[status]") {
  Result<std::string> bad(Code::BadVersion, "version 3 of /a");
  CHECK_THROWS_WITH(bad.value(), Catch::Contains("BadVersion") && Catch::Contains("/a"));
  CHECK_THROWS_AS(*bad, std::logic_error);
  const Result<std::string>& c = bad;
  CHECK_THROWS_AS(c.value(), std::logic_error);
  CHECK_THROWS_AS(std::move(bad).value(), std::logic_error);
}
