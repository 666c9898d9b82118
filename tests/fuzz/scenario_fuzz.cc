// Any bytes as a scenario file and as an operation: parsed or refused with a message, never a
// crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json/json_text.h"
#include "harness/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = fkemu::parse_json(text, "fuzz.json");  // depth and duplicate keys refused
  if (!parsed.is_ok()) {
    if (parsed.status().message().empty()) std::abort();
    return 0;
  }
  const nlohmann::json& j = *parsed;
  auto sc = fkemu::parse_scenario(j, "fuzz.json");
  if (!sc.is_ok() && sc.status().message().empty()) std::abort();  // a refusal names the problem
  auto op = fkemu::parse_operation(j, "s");
  if (!op.is_ok() && op.status().message().empty()) std::abort();
  return 0;
}
