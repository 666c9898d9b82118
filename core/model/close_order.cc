#include "core/model/close_order.h"

#include <algorithm>
#include <tuple>

namespace fkemu {

int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  auto mix = [&](uint32_t unit) { h = 31 * h + unit; };
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int extra;
    if (b0 < 0x80) {
      cp = b0;
      extra = 0;
    } else if ((b0 & 0xe0) == 0xc0) {
      cp = b0 & 0x1f;
      extra = 1;
    } else if ((b0 & 0xf0) == 0xe0) {
      cp = b0 & 0x0f;
      extra = 2;
    } else {
      cp = b0 & 0x07;
      extra = 3;
    }
    ++i;
    for (int k = 0; k < extra && i < s.size(); ++k, ++i)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      mix(0xd800 + (cp >> 10));
      mix(0xdc00 + (cp & 0x3ff));
    } else {
      mix(cp);
    }
  }
  return static_cast<int32_t>(h);
}

std::vector<std::string> zookeeper_close_order(const std::vector<std::string>& live, size_t peak) {
  size_t cap_orig = 16;
  while (static_cast<double>(std::max(peak, live.size())) > 0.75 * static_cast<double>(cap_orig))
    cap_orig *= 2;
  const auto t = static_cast<size_t>(static_cast<float>(live.size()) / 0.75F + 1.0F);
  size_t cap_clone = 1;
  while (cap_clone < t) cap_clone *= 2;

  std::vector<std::tuple<uint32_t, uint32_t, size_t>> keys;
  for (size_t i = 0; i < live.size(); ++i) {
    const auto h = static_cast<uint32_t>(java_string_hash(live[i]));
    const uint32_t spread = h ^ (h >> 16);
    keys.emplace_back(spread & (cap_clone - 1), spread & (cap_orig - 1), i);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(live[std::get<2>(k)]);
  return out;
}

}  // namespace fkemu
