// InProcessChannel: the client channel of a simulated deployment. Each session registers a
// handler; send() calls it synchronously (the send is already a scheduling point of the
// sender). Messages to unknown sessions are dropped, as a disconnected client's would be.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "core/protocol/client_channel.h"

namespace fkemu {

class InProcessChannel final : public ClientChannel {
 public:
  using Handler = std::function<void(const ClientMessage&)>;
  void attach(const std::string& session, Handler h) { handlers_[session] = std::move(h); }
  void detach(const std::string& session) { handlers_.erase(session); }
  void send(const std::string& session, const ClientMessage& message) override {
    ++sent_;
    auto it = handlers_.find(session);
    if (it != handlers_.end()) it->second(message);
  }
  uint64_t sent() const { return sent_; }

 private:
  std::unordered_map<std::string, Handler> handlers_;
  uint64_t sent_ = 0;
};

}  // namespace fkemu
