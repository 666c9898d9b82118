// UTF-8: decoding code points and checking validity. One decoder for the path rules
// (core/model/path.cc), Java's string hash (core/model/close_order.cc) and the choice between
// "data" and "data_b64" in histories (core/text/base64.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fkemu {

// Decodes the code point at s[i] and advances i past it. A sequence that is cut short or has a
// bad lead byte decodes as U+FFFD (consuming the lead byte and the continuation bytes before the
// fault) and sets *malformed; so do overlong forms, surrogates and values above U+10FFFF, which
// are consumed whole. i < s.size() on entry.
uint32_t next_code_point(std::string_view s, size_t& i, bool* malformed = nullptr);

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or values above
// U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace fkemu
