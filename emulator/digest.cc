#include "emulator/digest.h"

#include <boost/uuid/detail/sha1.hpp>

#include "core/text/base64.h"

namespace fkemu {

std::string sha1(std::string_view data) {
  boost::uuids::detail::sha1 h;
  h.process_bytes(data.data(), data.size());
  unsigned int words[5];
  h.get_digest(words);
  std::string out;
  for (unsigned int w : words)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(w >> shift));
  return out;
}

Identity digest_identity(std::string_view user_password) {
  const std::string_view user = user_password.substr(0, user_password.find(':'));
  return Identity{"digest", std::string(user) + ":" + base64_encode(sha1(user_password))};
}

}  // namespace fkemu
