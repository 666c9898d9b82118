#include "apps/server/connection.h"

#include <iostream>

namespace fkemu {

void ThrottledLog::line(const std::string& text) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::seconds(1)) {
    ++unlogged_;
    return;
  }
  std::cerr << "fkemu serve: " << text;
  if (unlogged_) std::cerr << " (and " << unlogged_ << " more like it)";
  std::cerr << std::endl;
  unlogged_ = 0;
  last_ = now;
}

}  // namespace fkemu
