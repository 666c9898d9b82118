#include "core/text/utf8.h"

namespace fkemu {

uint32_t next_code_point(std::string_view s, size_t& i, bool* malformed) {
  auto fail = [malformed] {
    if (malformed) *malformed = true;
    return uint32_t{0xfffd};
  };
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = 0;
  uint32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    extra = 1;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    return fail();
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) return fail();
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3f);
  }
  const bool overlong =
      (extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
  if (malformed && (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) *malformed = true;
  return cp;
}

bool is_valid_utf8(std::string_view s) {
  bool malformed = false;
  for (size_t i = 0; i < s.size() && !malformed;) (void)next_code_point(s, i, &malformed);
  return !malformed;
}

}  // namespace fkemu
