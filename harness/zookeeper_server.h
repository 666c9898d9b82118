// ZooKeeperServer: a throwaway standalone Apache ZooKeeper server for tests.
//
// Guarantees:
//  - The server listens on 127.0.0.1 only, on a port that was free when
//    start() ran, with its data in a fresh directory under the system temp
//    directory (mkdtemp); nothing outside that directory is written.
//  - start() returns only once a ZooKeeper client handshake succeeded
//    (session established and exists("/") answered), or returns a
//    SystemError saying why. A missing java binary or ZooKeeper jar is such an
//    error and the message says so: callers must FAIL, not skip.
//  - Waiting is bounded (about 30 s for start, about 10 s for shutdown).
//  - The destructor stops the JVM (SIGTERM, then SIGKILL after a bounded
//    wait), reaps it and removes the directory. The JVM is also killed if the
//    thread that called start() exits (PR_SET_PDEATHSIG), so call start()
//    from a thread that outlives the server, e.g. the main thread.
//
// The JVM runs org.apache.zookeeper.server.ZooKeeperServerMain directly
// (Debian's zkServer.sh mishandles --config). Environment overrides:
// FKEMU_JAVA (java binary) and FKEMU_ZOOKEEPER_CLASSPATH (class path;
// default "/usr/share/java/zookeeper.jar:/usr/share/java/*").

#ifndef FKEMU_HARNESS_ZOOKEEPER_SERVER_H_
#define FKEMU_HARNESS_ZOOKEEPER_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "core/status.h"

namespace fkemu::zkref {

// The super user (user:password) of the servers ZooKeeperServer starts: it may delete any node.
inline constexpr const char* kZooKeeperSuperUser = "fkemu-super:clear";

class ZooKeeperServer {
 public:
  // Starts a server; an error (SystemError) saying why it did not start.
  static Result<std::unique_ptr<ZooKeeperServer>> start();

  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // "127.0.0.1:PORT", the connect string for the ZooKeeper C client.
  std::string host_port() const;
  int port() const { return port_; }
  // The server's combined stdout/stderr.
  std::string log_path() const;
  // The throwaway directory (zoo.cfg, data/, server.log).
  const std::string& dir() const { return dir_; }

 private:
  ZooKeeperServer() = default;
  // One attempt on one port; an error (and *retry if another port may help)
  // on failure. Leaves pid_ set when a process was spawned.
  Status launch(const std::string& java, const std::string& classpath, bool* retry);
  void stop_process();

  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace fkemu::zkref

#endif  // FKEMU_HARNESS_ZOOKEEPER_SERVER_H_
