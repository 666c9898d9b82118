#include "core/model/close_order.h"

#include <algorithm>
#include <tuple>

#include "core/text/utf8.h"

namespace fkemu {

int32_t java_string_hash(std::string_view s) {
  uint32_t h = 0;
  auto mix = [&](uint32_t unit) { h = 31 * h + unit; };
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = next_code_point(s, i);
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
