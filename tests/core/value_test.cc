// The fakes' typed attribute value (core/services/value.h): access, comparison as DynamoDB
// compares, shared bytes, the JSON edge and the binary encoding, including hostile input.
#include "core/services/value.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

using namespace fkemu;
using json = nlohmann::json;

namespace {

Value sample() {
  ValueMap stat{{"czxid", 3}, {"ephemeralOwner", nullptr}, {"version", -2}};
  ValueMap m{{"exists", true},
             {"stat", Value(stat)},
             {"children", Value::strings({"a", "b"})},
             {"data", Bytes(std::string("\0\x01\xff", 3))},
             {"big", INT64_MIN},
             {"name", "n\xc3\xa9"}};
  return Value(m);
}

}  // namespace

TEST_CASE("a map keeps its entries sorted and each name once", "[value]") {
  ValueMap m;
  m.set("b", 1);
  m.set("a", 2);
  m.set("b", 3);
  REQUIRE(m.size() == 2);
  CHECK(m.begin()->first == "a");
  CHECK(m.find("b")->as_number() == 3);
  CHECK(m.erase("a"));
  CHECK_FALSE(m.erase("a"));
  CHECK(m.find("a") == nullptr);
  // Built from a list: sorted, and of two entries with one name the later one stays.
  const ValueMap listed{{"z", 1}, {"b", 1}, {"y", 0}, {"b", 2}, {"a", 0}, {"b", 3}};
  REQUIRE(listed.size() == 4);
  CHECK(listed.begin()->first == "a");
  CHECK(listed.find("b")->as_number() == 3);
  CHECK(listed.find("z")->as_number() == 1);
  // Beyond a record's size too (another sort): 20 names backwards, each twice.
  ValueMap big;
  for (int round = 0; round < 2; ++round)
    for (int i = 19; i >= 0; --i) big.set(std::string(1, static_cast<char>('a' + i)), round);
  const ValueMap big_listed{{"t", 0}, {"s", 0}, {"r", 0}, {"q", 0}, {"p", 0}, {"o", 0}, {"n", 0},
                            {"m", 0}, {"l", 0}, {"k", 0}, {"j", 0}, {"i", 0}, {"h", 0}, {"g", 0},
                            {"f", 0}, {"e", 0}, {"d", 0}, {"c", 0}, {"b", 0}, {"a", 0}, {"t", 1},
                            {"s", 1}, {"r", 1}, {"q", 1}, {"p", 1}, {"o", 1}, {"n", 1}, {"m", 1},
                            {"l", 1}, {"k", 1}, {"j", 1}, {"i", 1}, {"h", 1}, {"g", 1}, {"f", 1},
                            {"e", 1}, {"d", 1}, {"c", 1}, {"b", 1}, {"a", 1}};
  CHECK(big_listed == big);
  CHECK(big_listed.size() == 20);
  CHECK(big_listed.begin()->first == "a");
  const Value v(m);
  CHECK(v.number_or("b", 0) == 3);
  CHECK(v.number_or("zz", 7) == 7);
  CHECK(v.at("zz").is_null());
  CHECK(v.string_or("b", "x") == "x");  // another type: the default
  CHECK_THROWS_AS(v.as_list(), std::logic_error);
}

TEST_CASE("values compare as DynamoDB compares them", "[value]") {
  CHECK(Value(2).compare(Value(10)) == std::partial_ordering::less);
  CHECK(Value("10").compare(Value("2")) == std::partial_ordering::less);  // lexically
  CHECK(Value(Bytes("a")).compare(Value(Bytes("b"))) == std::partial_ordering::less);
  CHECK(Value(1).compare(Value("1")) == std::partial_ordering::unordered);
  CHECK(Value(true).compare(Value(true)) == std::partial_ordering::unordered);
  CHECK(Value(1) != Value("1"));
  CHECK(Value(nullptr) == Value());
  CHECK(sample() == sample());
}

TEST_CASE("copying a value shares everything below it; a change unshares first", "[value]") {
  const Bytes payload(std::string(65536, 'p'));
  Value item(ValueMap{{"data", payload}, {"list", Value::strings({"x"})}});
  Value copy = item;
  CHECK(copy.at("data").as_bytes().shares_buffer_with(payload));
  // Shared: the copy reads the item's own list.
  CHECK(&copy.at("list").as_list() == &item.at("list").as_list());
  copy.as_map()["list"].as_list().push_back(Value("y"));
  CHECK(item.at("list").as_list().size() == 1);
  CHECK(copy.at("list").as_list().size() == 2);
  CHECK(&copy.at("list").as_list() != &item.at("list").as_list());
  // The other way round: the original changes, the copy keeps what it read.
  Value reader = item;
  item.as_map().set("extra", 1);
  item.as_map()["list"].as_list().push_back(Value("z"));
  CHECK_FALSE(reader.contains("extra"));
  CHECK(reader.at("list").as_list().size() == 1);
  CHECK(item.at("list").as_list().size() == 2);
  // Every empty list is one shared instance, never changed through any of its holders.
  const Value none_a(ValueList{}), none_b(ValueList{});
  CHECK(&none_a.as_list() == &none_b.as_list());
  Value grows(ValueList{});
  grows.as_list().push_back(Value(1));
  CHECK(grows.as_list().size() == 1);
  CHECK(none_a.as_list().empty());
  CHECK(Value(ValueMap{}).as_map().empty());
  // Unshared, a change is in place: appends to one list never move what is already there.
  Value alone(ValueList{});
  alone.as_list().reserve(4);
  const Value* first_slot = alone.as_list().data();
  for (int i = 0; i < 4; ++i) alone.as_list().push_back(Value(i));
  CHECK(alone.as_list().data() == first_slot);
}

TEST_CASE("values round-trip through JSON and the binary encoding", "[value]") {
  const Value v = sample();
  auto from_json = Value::from_json(v.to_json());
  REQUIRE(from_json.is_ok());
  CHECK(*from_json == v);
  const std::string enc = v.encode();
  auto back = Value::decode(enc);
  REQUIRE(back.is_ok());
  CHECK(*back == v);
  for (int64_t n : {int64_t{0}, int64_t{-1}, int64_t{63}, int64_t{-64}, INT64_MAX, INT64_MIN})
    CHECK(*Value::decode(Value(n).encode()) == Value(n));
  // The encoding is compact: a small number takes two bytes, a short string its length + 2.
  CHECK(Value(5).encode().size() == 2);
  CHECK(Value("abc").encode().size() == 5);
  CHECK(Value::from_json(json(1.5)).status().message().find("not an integer") != std::string::npos);
  CHECK_FALSE(Value::from_json(json(UINT64_MAX)).is_ok());
}

TEST_CASE("a damaged encoding is refused by name, never read past its end", "[value]") {
  const std::string enc = sample().encode();
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    auto r = Value::decode(std::string_view(enc).substr(0, cut));
    CHECK_FALSE(r.is_ok());
  }
  CHECK(Value::decode(enc + "x").status().message().find("after its end") != std::string::npos);
  CHECK(Value::decode(std::string(1, '\x09')).status().message().find("unknown type") !=
        std::string::npos);
  // A length that claims more than there is.
  std::string huge = Value("abc").encode();
  huge[1] = '\x7f';
  CHECK_FALSE(Value::decode(huge).is_ok());
  // A ten-byte number whose last byte reaches beyond 64 bits.
  std::string widest = Value(INT64_MIN).encode();  // zig-zag: nine 0xff bytes, then 0x01
  REQUIRE(widest.size() == 11);
  CHECK(*Value::decode(widest) == Value(INT64_MIN));
  widest.back() = '\x7f';
  CHECK(Value::decode(widest).status().message().find("malformed") != std::string::npos);
  // Deep nesting is refused, not a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += std::string("\x05\x01", 2);
  CHECK(Value::decode(deep).status().message().find("too deep") != std::string::npos);
  // Random bytes: an error or a value, nothing else.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 40, '\0');
    for (char& c : junk) c = static_cast<char>(rng() % 8 == 0 ? rng() % 7 : rng());
    auto r = Value::decode(junk);
    if (r.is_ok()) CHECK(Value::decode(r->encode()).is_ok());
  }
}
