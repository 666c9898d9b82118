// Strict readers of JSON objects for the input formats (the operation format here, the scenario
// format in harness/scenario.cc): unknown fields and mistyped values are refused with a message
// that names the field and what it should be. They throw FieldError; the format's parser turns it
// into a Status that also says where (file, step).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace fkemu {

struct FieldError {
  std::string msg;
};

// Throws FieldError naming the first field of `obj` not in `allowed` ("... in <what>").
void check_fields(const nlohmann::json& obj, const std::set<std::string>& allowed,
                  const std::string& what);
// obj[key], which must exist, as a string; or FieldError.
std::string get_string(const nlohmann::json& obj, const char* key, const std::string& what);
// obj[key], which must exist, as an integer in [lo, hi]; or FieldError.
int64_t get_int(const nlohmann::json& obj, const char* key, const std::string& what, int64_t lo,
                int64_t hi);

}  // namespace fkemu
