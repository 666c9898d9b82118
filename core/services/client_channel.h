// ClientChannel: how functions reach a client session (results, watch events, pings).
//
// In simulation it delivers into the session's in-process inbox; in serve mode it writes to the
// session's WebSocket. Delivery to a session that is gone is dropped. Messages to one session
// arrive in the order they were sent.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fkemu {

class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  virtual void send(const std::string& session, nlohmann::json message) = 0;
};

}  // namespace fkemu
