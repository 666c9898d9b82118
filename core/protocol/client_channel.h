// ClientChannel: how functions reach a client session (write answers, watch notifications,
// pings; core/protocol/records.h).
//
// In simulation it delivers into the session's in-process inbox (emulator/in_process_channel.h).
// Delivery to a session that is gone is dropped. Messages to one session arrive in the order
// they were sent.
#pragma once

#include <string>

#include "core/protocol/records.h"

namespace fkemu {

class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  virtual void send(const std::string& session, const ClientMessage& message) = 0;
};

}  // namespace fkemu
