#include "harness/zookeeper_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "emulator/digest.h"

namespace fkemu::zkref {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(90);  // generous: CI machines are loaded
constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr int kPortAttempts = 3;
constexpr const char* kDefaultClasspath = "/usr/share/java/zookeeper.jar:/usr/share/java/*";
constexpr const char* kDebianJar = "/usr/share/java/zookeeper.jar";

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The java binary: $FKEMU_JAVA, else the first "java" on $PATH, else
// /usr/bin/java; empty if none is executable.
std::string find_java() {
  if (const char* env = std::getenv("FKEMU_JAVA"); env != nullptr && *env != '\0') {
    return is_executable(env) ? std::string(env) : std::string();
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty()) continue;
      std::string candidate = dir + "/java";
      if (is_executable(candidate)) return candidate;
    }
  }
  return is_executable("/usr/bin/java") ? std::string("/usr/bin/java") : std::string();
}

// A loopback port that was free a moment ago (0 on failure).
int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool tcp_connects(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

void drop_client_log(const char*) {}

struct HandshakeState {
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;
};

void handshake_watcher(zhandle_t*, int type, int state, const char*, void* ctx) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* hs = static_cast<HandshakeState*>(ctx);
  std::lock_guard<std::mutex> lock(hs->mu);
  hs->state = state;
  hs->cv.notify_all();
}

// True once a session can be established and exists("/") answers.
bool zookeeper_handshake(const std::string& host_port) {
  HandshakeState hs;
  zhandle_t* zh = zookeeper_init2(host_port.c_str(), handshake_watcher, 4000, nullptr, &hs,
                                  ZOO_NO_LOG_CLIENTENV, drop_client_log);
  if (zh == nullptr) return false;
  bool connected;
  {
    std::unique_lock<std::mutex> lock(hs.mu);
    connected = hs.cv.wait_for(lock, std::chrono::seconds(5),
                               [&] { return hs.state == ZOO_CONNECTED_STATE; });
  }
  bool ok = false;
  if (connected) {
    Stat st{};
    ok = zoo_exists(zh, "/", 0, &st) == ZOK;
  }
  zookeeper_close(zh);  // joins the client threads; hs is not used after this
  return ok;
}

std::string read_tail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > max_bytes) all = all.substr(all.size() - max_bytes);
  return all;
}

Status fail(const std::string& message) { return Status(Code::SystemError, message); }

}  // namespace

Result<std::unique_ptr<ZooKeeperServer>> ZooKeeperServer::start() {
  const std::string java = find_java();
  if (java.empty()) {
    return fail(
        "ZooKeeperServer: no java binary found ($FKEMU_JAVA, $PATH, /usr/bin/java); "
        "install a JRE (Debian: apt-get install default-jre-headless)");
  }
  std::string classpath = kDefaultClasspath;
  if (const char* env = std::getenv("FKEMU_ZOOKEEPER_CLASSPATH"); env != nullptr && *env != '\0') {
    classpath = env;
  } else if (::access(kDebianJar, R_OK) != 0) {
    return fail(std::string("ZooKeeperServer: ZooKeeper jar ") + kDebianJar +
                " not found; install ZooKeeper (Debian: apt-get install zookeeper) or "
                "set FKEMU_ZOOKEEPER_CLASSPATH");
  }

  std::unique_ptr<ZooKeeperServer> server(new ZooKeeperServer());
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  std::string templ = (tmp / "fkemu-zookeeper-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr)
    return fail("ZooKeeperServer: mkdtemp(" + templ + ") failed: " + std::strerror(errno));
  server->dir_ = buf.data();

  Status last;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    bool retry = false;
    last = server->launch(java, classpath, &retry);
    if (last.is_ok()) return server;
    server->stop_process();
    if (!retry) break;
  }
  return last;  // the destructor removes the directory
}

Status ZooKeeperServer::launch(const std::string& java, const std::string& classpath, bool* retry) {
  *retry = false;
  port_ = pick_free_port();
  if (port_ == 0)
    return fail(std::string("ZooKeeperServer: cannot find a free loopback port: ") +
                std::strerror(errno));
  const std::string cfg_path = dir_ + "/zoo.cfg";
  const std::string data_dir = dir_ + "/data";
  std::filesystem::create_directories(data_dir);
  {
    std::ofstream cfg(cfg_path, std::ios::trunc);
    cfg << "tickTime=2000\n"
        << "dataDir=" << data_dir << "\n"
        << "clientPort=" << port_ << "\n"
        << "clientPortAddress=127.0.0.1\n"
        << "admin.enableServer=false\n";
    if (!cfg) return fail("ZooKeeperServer: cannot write " + cfg_path);
  }

  // Everything the child needs is prepared before fork(): after fork() in a
  // possibly multi-threaded process the child only makes system calls.
  const std::string log = log_path();
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    const Status status = fail("ZooKeeperServer: cannot open " + log + ": " + std::strerror(errno));
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    return status;
  }
  std::vector<std::string> args = {
      java, "-Xms32m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Djava.awt.headless=true", "-Dzookeeper.admin.enableServer=false",
      // the super user, who clears ACL-guarded trees between runs
      "-Dzookeeper.DigestAuthenticationProvider.superDigest=" +
          digest_identity(kZooKeeperSuperUser).id,
      "-cp", classpath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg_path};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    const Status status =
        fail(std::string("ZooKeeperServer: fork failed: ") + std::strerror(errno));
    ::close(log_fd);
    ::close(null_fd);
    return status;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = pid;

  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      std::string tail = read_tail(log, 4000);
      *retry = tail.find("Address already in use") != std::string::npos;
      std::ostringstream msg;
      msg << "ZooKeeperServer: java exited during start-up (";
      if (WIFEXITED(status)) {
        msg << "exit status " << WEXITSTATUS(status);
        if (WEXITSTATUS(status) == 127) msg << ", exec of " << java << " failed";
      } else {
        msg << "signal " << WTERMSIG(status);
      }
      msg << "); end of " << log << ":\n" << tail;
      return fail(msg.str());
    }
    if (tcp_connects(port_) && zookeeper_handshake(host_port())) return Status::ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return fail("ZooKeeperServer: no ZooKeeper handshake on " + host_port() + " within " +
              std::to_string(kStartTimeout.count()) + " s; end of " + log + ":\n" +
              read_tail(log, 4000));
}

void ZooKeeperServer::stop_process() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + kStopTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

ZooKeeperServer::~ZooKeeperServer() {
  stop_process();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string ZooKeeperServer::host_port() const { return "127.0.0.1:" + std::to_string(port_); }

std::string ZooKeeperServer::log_path() const { return dir_ + "/server.log"; }

}  // namespace fkemu::zkref
