// The ZooKeeper baselines of apps/report/speed.h: the same synchronous loop as the fkemu pipeline
// measurements, with the ZooKeeper C client (multi-threaded library, THREADED) against a real
// server.
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "apps/report/speed.h"

namespace fkemu {

namespace {

using WallClock = std::chrono::steady_clock;
constexpr const char* kPath = "/fkemu-speed";

double seconds_since(WallClock::time_point t) {
  return std::chrono::duration<double>(WallClock::now() - t).count();
}

// One connected session; the node kPath exists and holds `bytes` bytes.
class Session {
 public:
  Session(const std::string& host_port, const std::string& data) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(host_port.c_str(), nullptr, 30000, nullptr, nullptr, 0);
    if (!zh_) throw std::runtime_error("zookeeper speed: zookeeper_init failed for " + host_port);
    const auto start = WallClock::now();
    while (zoo_state(zh_) != ZOO_CONNECTED_STATE) {
      if (seconds_since(start) > 30) {
        zookeeper_close(zh_);
        throw std::runtime_error("zookeeper speed: no session with " + host_port + " in 30 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    char created[64];
    const int rc = zoo_create(zh_, kPath, data.data(), static_cast<int>(data.size()),
                              &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created);
    if (rc != ZOK && rc != ZNODEEXISTS) fail("create", rc);
    if (rc == ZNODEEXISTS)
      check(zoo_set(zh_, kPath, data.data(), static_cast<int>(data.size()), -1), "set_data");
  }
  ~Session() { zookeeper_close(zh_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  zhandle_t* handle() const { return zh_; }
  void check(int rc, const char* what) const {
    if (rc != ZOK) fail(what, rc);
  }

 private:
  [[noreturn]] static void fail(const char* what, int rc) {
    throw std::runtime_error(std::string("zookeeper speed: ") + what + " answered " + zerror(rc));
  }
  zhandle_t* zh_ = nullptr;
};

template <class F>
RateResult timed_loop(double seconds, double warm_up, F&& one) {
  const auto warm = WallClock::now();
  while (seconds_since(warm) < warm_up) one();
  RateResult r;
  const auto start = WallClock::now();
  do {
    one();
    ++r.ops;
    r.seconds = seconds_since(start);
  } while (r.seconds < seconds);
  return r;
}

}  // namespace

RateResult measure_zookeeper_set_data(const std::string& host_port, size_t bytes, double seconds,
                                      double warm_up_seconds) {
  const std::string data(bytes, 'x');
  Session s(host_port, data);
  return timed_loop(seconds, warm_up_seconds, [&] {
    s.check(zoo_set(s.handle(), kPath, data.data(), static_cast<int>(data.size()), -1), "set_data");
  });
}

RateResult measure_zookeeper_get_data(const std::string& host_port, size_t bytes, double seconds,
                                      double warm_up_seconds) {
  Session s(host_port, std::string(bytes, 'x'));
  std::string buf(bytes + 1, '\0');
  return timed_loop(seconds, warm_up_seconds, [&] {
    int len = static_cast<int>(buf.size());
    s.check(zoo_get(s.handle(), kPath, 0, buf.data(), &len, nullptr), "get_data");
    if (static_cast<size_t>(std::max(len, 0)) != bytes)
      throw std::runtime_error("zookeeper speed: get_data answered " + std::to_string(len) +
                               " bytes, not " + std::to_string(bytes));
  });
}

}  // namespace fkemu
