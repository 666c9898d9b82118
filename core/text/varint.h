// Varints (7 bits a byte, low bits first) and zig-zag signed numbers: the building blocks of
// the stores' binary encoding (core/services/value.cc) and of the packed record attributes
// (a stat, an update's triggers; decision 41).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fkemu {

inline void put_varint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

// Zig-zag: small negative numbers stay short.
inline uint64_t zigzag(int64_t n) {
  return (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63);
}
inline int64_t unzigzag(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}
inline void put_signed(std::string& out, int64_t n) { put_varint(out, zigzag(n)); }
// A length (varint) and that many bytes: what VarintReader::text reads.
inline void put_text(std::string& out, std::string_view text) {
  put_varint(out, text.size());
  out += text;
}

// Reads from the front of a buffer. Each read returns false, and consumes nothing, if the rest
// does not hold the whole thing (truncated, or a varint longer than ten bytes or beyond 64
// bits).
class VarintReader {
 public:
  explicit VarintReader(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  size_t left() const { return in_.size(); }
  bool byte(uint8_t& b) {
    if (in_.empty()) return false;
    b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool varint(uint64_t& n) {
    uint64_t v = 0;
    for (size_t i = 0; i < in_.size() && i < 10; ++i) {
      const auto b = static_cast<uint8_t>(in_[i]);
      if (i == 9 && b > 1) return false;  // beyond 64 bits
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        in_.remove_prefix(i + 1);
        n = v;
        return true;
      }
    }
    return false;
  }
  bool signed_number(int64_t& n) {
    uint64_t u = 0;
    if (!varint(u)) return false;
    n = unzigzag(u);
    return true;
  }
  // A length (varint) and that many bytes.
  bool text(std::string_view& s) {
    std::string_view keep = in_;
    uint64_t length = 0;
    if (!varint(length) || length > in_.size()) {
      in_ = keep;
      return false;
    }
    s = in_.substr(0, length);
    in_.remove_prefix(length);
    return true;
  }

 private:
  std::string_view in_;
};

}  // namespace fkemu
