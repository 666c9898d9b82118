// Standard base64 (RFC 4648, with padding), for `data_b64` in scenarios and histories; and the
// choice between "data" and "data_b64" for a node's bytes. UTF-8 validity: core/text/utf8.h.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace fkemu {

std::string base64_encode(std::string_view bytes);
// nullopt if `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

// Puts `bytes` into `into` as histories and the API carry node data: under `key_utf8` if they
// are valid UTF-8, else base64-encoded under `key_b64`.
void put_data_field(std::string_view bytes, const char* key_utf8, const char* key_b64,
                    nlohmann::json& into);

}  // namespace fkemu
