// Helpers of the checker's tests: the violations found, as one text for a test's report, and
// whether one of them is of a given guarantee.
#pragma once

#include <string>
#include <vector>

#include "harness/checker.h"

namespace fkemu::testing {

inline std::string report(const std::vector<Violation>& vs) {
  std::string out;
  for (const auto& v : vs) out += "\n" + violation_to_string(v);
  return out;
}

inline bool names(const std::vector<Violation>& vs, const std::string& guarantee) {
  for (const auto& v : vs)
    if (v.guarantee == guarantee) return true;
  return false;
}

}  // namespace fkemu::testing
