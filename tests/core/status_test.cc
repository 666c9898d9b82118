// Status and Result: errors as values, and a clear report when an error's value is taken.
#include "core/status.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <type_traits>

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

namespace {

Status check_positive(int v) {
  if (v <= 0) return Status(Code::BadArguments, "not positive: " + std::to_string(v));
  return Status::ok();
}

Result<int> half(int v) {
  if (v % 2 != 0) return Status(Code::BadArguments, "odd: " + std::to_string(v));
  return v / 2;
}

Result<int> quarter_of_positive(int v) {
  RETURN_IF_ERROR(check_positive(v));
  ASSIGN_OR_RETURN(const int h, half(v));
  ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status positive_and_even(int v) {
  RETURN_IF_ERROR(check_positive(v));
  RETURN_IF_ERROR(half(v));
  return Status::ok();
}

}  // namespace

TEST_CASE("RETURN_IF_ERROR and ASSIGN_OR_RETURN pass the first error on", "[status]") {
  CHECK(*quarter_of_positive(8) == 2);
  CHECK(quarter_of_positive(-4).status().message() == "not positive: -4");
  CHECK(quarter_of_positive(6).status().message() == "odd: 3");
  CHECK(quarter_of_positive(5).status().message() == "odd: 5");
  CHECK(positive_and_even(4).is_ok());
  CHECK(positive_and_even(3).code() == Code::BadArguments);
}

TEST_CASE("a Result made from an OK status is an error, not an empty value", "[status]") {
  Result<int> r = Status::ok();
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.code() == Code::SystemError);
  CHECK_THROWS_AS(r.value(), std::logic_error);
}

TEST_CASE("the store codes have names but are not ZooKeeper error names", "[status]") {
  CHECK(code_name(Code::ConditionFailed) == "ConditionFailed");
  CHECK(code_name(Code::NotFound) == "NotFound");
  CHECK_FALSE(code_from_name("ConditionFailed").has_value());
  CHECK_FALSE(code_from_name("NotFound").has_value());
  CHECK(code_from_name("NoNode") == Code::NoNode);
  // A bare code does not convert to a Status (it would hide a forgotten message or a wrong type).
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Code, Status>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Code, Result<int>>);
}
