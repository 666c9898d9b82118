// Any bytes from a ZooKeeper client of fkemu serve --zookeeper, after a valid ConnectRequest:
// answered, or the connection closed, never a crash or a hang; the server answers the next
// client (ruok) after each input. The server runs on its own thread on loopback for the whole
// run, as it does in production (the listener is bound to its sockets).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "apps/server/server.h"

namespace {

uint16_t zookeeper_port() {
  static const uint16_t port = [] {
    fkemu::ServerOptions o;
    o.port = 0;
    o.zookeeper_port = 0;
    o.quiet = true;
    o.admin_token = "fuzz";
    auto* s = new fkemu::Server(o);  // lives as long as the process
    if (!s->start().is_ok()) std::abort();
    std::thread([s] { s->run(); }).detach();
    return s->zookeeper_port();
  }();
  return port;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};  // a server that does not answer within 5 s hangs: a finding
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed the connection: fine
    at += static_cast<size_t>(n);
  }
}

// Reads until the server closes the connection; false if it neither answers nor closes.
bool drain(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

const std::string kConnect = [] {
  std::string c;
  auto be32 = [&c](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) c.push_back(static_cast<char>(v >> s));
  };
  be32(4 + 8 + 4 + 8 + 4 + 16 + 1);
  be32(0);           // protocol version
  be32(0), be32(0);  // last zxid seen
  be32(10000);       // timeout
  be32(0), be32(0);  // a new session
  be32(16);          // password
  c.append(16, '\0');
  c.push_back(0);  // read-only
  return c;
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint16_t port = zookeeper_port();
  const int fd = connect_to(port);
  send_all(fd, kConnect + std::string(reinterpret_cast<const char*>(data), size));
  ::shutdown(fd, SHUT_WR);  // the server answers what it read, then sees the end
  const bool ended = drain(fd);
  ::close(fd);
  if (!ended) std::abort();  // a hang: neither answers nor close
  // The server still serves.
  const int probe = connect_to(port);
  send_all(probe, "ruok");
  char buf[8] = {};
  const ssize_t n = ::recv(probe, buf, 4, MSG_WAITALL);
  ::close(probe);
  if (n != 4 || std::string(buf, 4) != "imok") std::abort();
  return 0;
}
