#include "core/status.h"

namespace fkemu {

std::string_view code_name(Code c) {
  switch (c) {
#define FKEMU_ERROR_NAME(name, code, text) \
  case Code::name:                         \
    return #name;
    FKEMU_ERROR_TABLE(FKEMU_ERROR_NAME)
    FKEMU_STORE_ERROR_TABLE(FKEMU_ERROR_NAME)
#undef FKEMU_ERROR_NAME
  }
  return "Unknown";
}

std::string_view code_meaning(Code c) {
  switch (c) {
#define FKEMU_ERROR_TEXT(name, code, text) \
  case Code::name:                         \
    return text;
    FKEMU_ERROR_TABLE(FKEMU_ERROR_TEXT)
    FKEMU_STORE_ERROR_TABLE(FKEMU_ERROR_TEXT)
#undef FKEMU_ERROR_TEXT
  }
  return "unknown error";
}

std::optional<Code> code_from_name(std::string_view n) {
#define FKEMU_ERROR_PARSE(name, code, text) \
  if (n == #name) return Code::name;
  FKEMU_ERROR_TABLE(FKEMU_ERROR_PARSE)
#undef FKEMU_ERROR_PARSE
  return std::nullopt;
}

std::string Status::to_string() const {
  std::string s(code_name(code_));
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace fkemu
