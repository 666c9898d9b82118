// Standard base64 (RFC 4648, with padding), for `data_b64` in scenarios and histories.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fkemu {

std::string base64_encode(std::string_view bytes);
// nullopt if `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);
bool is_valid_utf8(std::string_view s);

}  // namespace fkemu
