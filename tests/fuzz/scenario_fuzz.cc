// Any bytes as a scenario file and as an operation: parsed or refused with a message, never a
// crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  auto sc = fkemu::parse_scenario(j, "fuzz.json");
  if (!sc.is_ok() && sc.status().message().empty()) std::abort();  // a refusal names the problem
  auto op = fkemu::parse_operation(j, "s");
  if (!op.is_ok() && op.status().message().empty()) std::abort();
  return 0;
}
