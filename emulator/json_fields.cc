#include "emulator/json_fields.h"

namespace fkemu {

using json = nlohmann::json;

void check_fields(const json& obj, const std::set<std::string>& allowed, const std::string& what) {
  for (const auto& [k, v] : obj.items())
    if (!allowed.count(k)) throw FieldError{"unknown field \"" + k + "\" in " + what};
}

std::string get_string(const json& obj, const char* key, const std::string& what) {
  const json& v = obj.at(key);
  if (!v.is_string())
    throw FieldError{std::string("field \"") + key + "\" of " + what + " must be a string"};
  return v.get<std::string>();
}

int64_t get_int(const json& obj, const char* key, const std::string& what, int64_t lo, int64_t hi) {
  const json& v = obj.at(key);
  if (!v.is_number_integer())
    throw FieldError{std::string("field \"") + key + "\" of " + what + " must be an integer"};
  const int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    throw FieldError{std::string("field \"") + key + "\" of " + what + " is " + std::to_string(n) +
                     ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"};
  return n;
}

}  // namespace fkemu
