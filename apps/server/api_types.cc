#include "apps/server/api_types.h"

#include <string_view>

namespace fkemu {

nlohmann::json error_body(const std::string& error, const std::string& message) {
  return nlohmann::json{{"error", error}, {"message", message}};
}

std::string bearer(const Request& req) {
  const auto auth = req.find(boost::beast::http::field::authorization);
  if (auth == req.end()) return {};
  const std::string_view v(auth->value().data(), auth->value().size());
  return v.substr(0, 7) == "Bearer " ? std::string(v.substr(7)) : std::string();
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace fkemu
