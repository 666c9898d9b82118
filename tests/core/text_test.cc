// core/text: base64 (RFC 4648, padded), UTF-8 decoding and validity, and the data fields of
// histories.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "core/text/base64.h"
#include "core/text/utf8.h"
#include "core/text/varint.h"

using namespace fkemu;
using json = nlohmann::json;

TEST_CASE("base64 round-trips every byte and refuses what is not padded base64", "[text]") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t n = 0; n <= all.size(); n += 37) {
    const std::string bytes = all.substr(0, n);
    CHECK(base64_decode(base64_encode(bytes)) == bytes);
  }
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK_FALSE(base64_decode("Zm8").has_value());    // unpadded
  CHECK_FALSE(base64_decode("Zm 8=").has_value());  // not in the alphabet
  CHECK_FALSE(base64_decode("=Zm8").has_value());
}

TEST_CASE("code points are decoded, and malformed sequences flagged", "[text][utf8]") {
  auto decode = [](std::string_view s, bool* bad) {
    size_t i = 0;
    return next_code_point(s, i, bad);
  };
  bool bad = false;
  CHECK(decode("A", &bad) == 'A');
  CHECK(decode("\xc3\xa9", &bad) == 0xe9);
  CHECK(decode("\xe2\x82\xac", &bad) == 0x20ac);
  CHECK(decode("\xf0\x9f\x98\x80", &bad) == 0x1f600);
  CHECK_FALSE(bad);
  for (const char* s : {"\xc3", "\xe2\x82", "\xff", "\x80", "\xc3(", "\xc0\x80", "\xed\xa0\x80",
                        "\xf4\x90\x80\x80"}) {
    bool flagged = false;
    decode(s, &flagged);
    INFO("bytes of " << std::string_view(s).size());
    CHECK(flagged);
  }
  // A cut sequence stops before the byte that broke it.
  size_t i = 0;
  CHECK(next_code_point("\xc3(", i) == 0xfffd);
  CHECK(i == 1);
}

TEST_CASE("valid UTF-8 is RFC 3629's", "[text][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain /path"));
  CHECK(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xc0\x80"));          // overlong NUL
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("ok\xe2\x82"));        // cut short
}

TEST_CASE("node data goes under data if it is UTF-8, else under data_b64", "[text]") {
  json j = json::object();
  put_data_field("h\xc3\xa9", "data", "data_b64", j);
  CHECK(j == json{{"data", "h\xc3\xa9"}});
  json k = json::object();
  put_data_field(std::string("\xff\x00", 2), "data", "data_b64", k);
  CHECK(k == json{{"data_b64", "/wA="}});
}

TEST_CASE("varints round-trip and a damaged one is refused without consuming it", "[text]") {
  std::string out;
  for (uint64_t n : {uint64_t{0}, uint64_t{127}, uint64_t{128}, ~uint64_t{0}}) put_varint(out, n);
  for (int64_t n : {int64_t{-1}, INT64_MIN, INT64_MAX}) put_signed(out, n);
  put_varint(out, 3);
  out += "abc";
  VarintReader in(out);
  uint64_t u = 1;
  int64_t s = 1;
  std::string_view text;
  for (uint64_t n : {uint64_t{0}, uint64_t{127}, uint64_t{128}, ~uint64_t{0}}) {
    REQUIRE(in.varint(u));
    CHECK(u == n);
  }
  for (int64_t n : {int64_t{-1}, INT64_MIN, INT64_MAX}) {
    REQUIRE(in.signed_number(s));
    CHECK(s == n);
  }
  REQUIRE(in.text(text));
  CHECK(text == "abc");
  CHECK(in.done());
  // Beyond 64 bits, longer than ten bytes, cut off, a length beyond the end: false, nothing read.
  for (const std::string& bad :
       {std::string(9, '\xff') + "\x02", std::string(11, '\x80'), std::string("\x80")}) {
    VarintReader r(bad);
    CHECK_FALSE(r.varint(u));
    CHECK_FALSE(r.text(text));
    CHECK_FALSE(r.done());
  }
  VarintReader short_text(
      std::string_view("\x05"
                       "ab"));
  CHECK_FALSE(short_text.text(text));
  REQUIRE(short_text.varint(u));  // the failed read consumed nothing
  CHECK(u == 5);
}
