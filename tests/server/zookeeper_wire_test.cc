// fkemu serve --zookeeper against ZooKeeper's own C client (libzookeeper-mt): the reference
// runner that records ZooKeeper's histories gives, on fkemu's ZooKeeper port, the histories
// `fkemu run` gives; sessions reconnect with their id and password; four-letter words; and
// hostile frames close their connection without harming the server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apps/server/jute.h"
#include "emulator/digest.h"
#include "harness/history_diff.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"
#include "harness/workload_generator.h"
#include "harness/zookeeper_runner.h"
#include "harness/zookeeper_server.h"
#include "tests/server/test_server.h"
#include "tests/support/http_client.h"

namespace fkemu {
namespace {

ServerOptions with_zookeeper(DeploymentConfig config = {}) {
  ServerOptions o;
  o.zookeeper_port = 0;
  o.config = config;
  // The super user that clear_zookeeper_tree() authenticates as (generated scenarios guard
  // nodes with ACLs).
  o.zookeeper_super_digest = digest_identity(zkref::kZooKeeperSuperUser).id;
  return o;
}

std::string host_port(const TestServer& s) {
  return "127.0.0.1:" + std::to_string(s.server.zookeeper_port());
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += "\n  " + item;
  return out;
}

// A TCP connection to the ZooKeeper port, with a 10 s receive timeout.
struct RawSocket {
  int fd = -1;
  explicit RawSocket(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~RawSocket() { ::close(fd); }
  void send(const std::string& bytes) const {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the server closes the connection (or the timeout).
  std::string read_all() const {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, n);
    return out;
  }
};

// A ZooKeeper client of a few lines, on fkemu's own codec (tested against the C client's in
// zookeeper_jute_test.cc): for requests the C client cannot make, and for pipelining.
struct RawZk {
  RawSocket s;
  int32_t next_xid = 1;
  explicit RawZk(uint16_t port) : s(port) {
    jute::Writer w;
    w.i32(0);
    w.i64(0);
    w.i32(10000);
    w.i64(0);
    w.buffer(std::string(16, '\0'));
    w.boolean(false);
    s.send(w.frame());
    const std::string answer = read_frame();
    jute::Reader in(answer);
    (void)in.i32();
    CHECK(in.i32() == 10000);
    CHECK(in.i64() != 0);
  }
  // Sends a request (its body after the header); its xid.
  int32_t send(jute::OpCode op, const std::string& body) {
    jute::Writer w;
    const int32_t xid = next_xid++;
    w.i32(xid);
    w.i32(static_cast<int32_t>(op));
    w.raw(body);
    s.send(w.frame());
    return xid;
  }
  std::string read_frame() const {
    std::string len = read_exactly(4);
    const auto* b = reinterpret_cast<const unsigned char*>(len.data());
    return read_exactly((size_t{b[0]} << 24) | (size_t{b[1]} << 16) | (size_t{b[2]} << 8) | b[3]);
  }
  std::string read_exactly(size_t n) const {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(s.fd, out.data() + got, n - got, 0);
      REQUIRE(r > 0);
      got += static_cast<size_t>(r);
    }
    return out;
  }
  // The next reply: xid, err and the body.
  struct Reply {
    int32_t xid = 0;
    int64_t zxid = 0;
    int32_t err = 0;
    std::string body;
  };
  Reply reply() const {
    const std::string frame = read_frame();
    jute::Reader in(frame);
    Reply r;
    r.xid = in.i32();
    r.zxid = in.i64();
    r.err = in.i32();
    r.body = frame.substr(16);
    return r;
  }
  Reply call(jute::OpCode op, const std::string& body) {
    const int32_t xid = send(op, body);
    Reply r = reply();
    CHECK(r.xid == xid);
    return r;
  }
};

std::string path_request(const std::string& path) {
  jute::Writer w;
  w.buffer(path);
  return w.bytes();
}

std::string create_request(const std::string& path, int32_t flags) {
  jute::Writer w;
  w.buffer(path);
  w.buffer("");
  w.i32(1);
  w.i32(31);
  w.buffer("world");
  w.buffer("anyone");
  w.i32(flags);
  return w.bytes();
}

// A client's persistent watches (addWatch) and the events they bring, on a RawZk.
struct Watching {
  RawZk& zk;
  RawZk::Reply add_watch(const std::string& path, int32_t mode) {
    jute::Writer w;
    w.buffer(path);
    w.i32(mode);
    return zk.call(jute::OpCode::AddWatch, w.bytes());
  }
  // The next frame, which must be an event: "<type> <path>".
  std::string event() {
    const RawZk::Reply r = zk.reply();
    REQUIRE(r.xid == jute::kNotificationXid);
    jute::Reader in(r.body);
    const int32_t type = in.i32();
    (void)in.i32();
    return std::to_string(type) + " " + in.text("the path");
  }
};

// A removeWatches or checkWatches request: the path and the kind (1 children, 2 data, 3 any).
std::string watches_request(const std::string& path, int32_t kind) {
  jute::Writer w;
  w.buffer(path);
  w.i32(kind);
  return w.bytes();
}

std::string set_request(const std::string& path) {
  jute::Writer w;
  w.buffer(path);
  w.buffer("v");
  w.i32(-1);
  return w.bytes();
}

std::string four_letter(uint16_t port, const std::string& word) {
  RawSocket s(port);
  s.send(word);
  return s.read_all();
}

// A synchronous C-client handle, connected (or not, after 10 s).
struct Handle {
  zhandle_t* zh = nullptr;
  std::atomic<int> state{0};
  std::atomic<int> events{0};
  std::string last_event_path;
  int last_event_type = 0;
  static void watcher(zhandle_t*, int type, int st, const char* path, void* ctx) {
    auto* self = static_cast<Handle*>(ctx);
    if (type == ZOO_SESSION_EVENT) {
      self->state = st;
    } else {
      self->last_event_path = path ? path : "";
      self->last_event_type = type;
      ++self->events;
    }
  }
  Handle(const std::string& hosts, const clientid_t* id = nullptr) {
    zoo_set_debug_level(static_cast<ZooLogLevel>(0));
    zh = zookeeper_init(hosts.c_str(), watcher, 10000, id, this, 0);
    REQUIRE(zh != nullptr);
    for (int i = 0; i < 1000 && state == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~Handle() {
    if (zh) zookeeper_close(zh);
  }
  bool connected() const { return state == ZOO_CONNECTED_STATE; }
};

TEST_CASE("the C client's reference runner gets fkemu run's histories through --zookeeper",
          "[server][zookeeper]") {
  auto files = scenario_files(std::string(FKEMU_SOURCE_DIR) + "/scenarios");
  REQUIRE(files.is_ok());
  size_t compared = 0;
  for (const std::string& file : *files) {
    auto scenario = load_scenario(file);
    REQUIRE(scenario.is_ok());
    if (!zkref::scenario_comparable_with_zookeeper(*scenario).is_ok()) continue;
    INFO("scenario " << scenario->name);
    // A fresh server per scenario, with the scenario's deployment, as `fkemu run` has it.
    TestServer server(with_zookeeper(deployment_config(scenario->config)));
    const zkref::ZkRunResult wire = zkref::run_scenario_on_zookeeper(*scenario, host_port(server));
    INFO("the run through the ZooKeeper port: " << wire.status.to_string());
    REQUIRE(wire.status.is_ok());
    const RunOutcome emu = run_scenario(*scenario);
    const std::vector<std::string> diffs = zkref::diff_histories(wire.history, emu.history);
    INFO("differences (through the ZooKeeper port vs fkemu run):" << lines(diffs));
    CHECK(diffs.empty());
    ++compared;
  }
  CHECK(compared >= 15);
}

TEST_CASE("generated scenarios through --zookeeper give fkemu run's histories",
          "[server][zookeeper][generator]") {
  TestServer server(with_zookeeper());
  GeneratorOptions o;
  o.comparable = true;
  for (uint64_t i = 0; i < 12; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(20261207, i), o);
    INFO("scenario " << sc.name << ":\n" << sc.source.dump(1));
    REQUIRE(zkref::clear_zookeeper_tree(host_port(server)).is_ok());
    const zkref::ZkRunResult wire = zkref::run_scenario_on_zookeeper(sc, host_port(server));
    INFO("the run: " << wire.status.to_string());
    REQUIRE(wire.status.is_ok());
    const auto diffs = zkref::diff_histories(wire.history, run_scenario(sc).history);
    INFO("through the ZooKeeper port vs fkemu run:" << lines(diffs));
    CHECK(diffs.empty());
  }
}

TEST_CASE("a session reconnects with its id and password; a wrong password finds it expired",
          "[server][zookeeper]") {
  ServerOptions o = with_zookeeper();
  o.config.heartbeat_period = 200 * kMillisecond;
  TestServer server(o);
  Handle first(host_port(server));
  REQUIRE(first.connected());
  char made[64];
  REQUIRE(zoo_create(first.zh, "/e", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made,
                     sizeof made) == ZOK);
  ::Stat st{};
  REQUIRE(zoo_exists(first.zh, "/e", 1, &st) == ZOK);  // a watch, to fire after the move
  const clientid_t id = *zoo_client_id(first.zh);
  CHECK(st.ephemeralOwner == id.client_id);

  // The same session from a second handle: its ephemeral stays, its watch too.
  Handle second(host_port(server), &id);
  REQUIRE(second.connected());
  CHECK(zoo_client_id(second.zh)->client_id == id.client_id);
  ::Stat again{};
  CHECK(zoo_exists(second.zh, "/e", 0, &again) == ZOK);
  CHECK(again.ephemeralOwner == id.client_id);

  clientid_t wrong = id;
  wrong.passwd[0] = static_cast<char>(wrong.passwd[0] ^ 1);
  Handle impostor(host_port(server), &wrong);
  CHECK(impostor.state == ZOO_EXPIRED_SESSION_STATE);

  // Closing the session deletes its ephemeral, as seen from another session.
  zookeeper_close(second.zh);
  second.zh = nullptr;
  Handle other(host_port(server));
  REQUIRE(other.connected());
  int rc = ZOK;
  for (int i = 0; i < 200 && (rc = zoo_exists(other.zh, "/e", 0, &again)) == ZOK; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(rc == ZNONODE);
}

TEST_CASE("null data reads back as null, empty data as empty", "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[64];
  REQUIRE(zoo_create(h.zh, "/null", nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) ==
          ZOK);
  REQUIRE(zoo_create(h.zh, "/empty", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  char buf[8];
  int len = sizeof buf;
  ::Stat st{};
  REQUIRE(zoo_get(h.zh, "/null", 0, buf, &len, &st) == ZOK);
  CHECK(len == -1);
  CHECK(st.dataLength == 0);
  len = sizeof buf;
  REQUIRE(zoo_get(h.zh, "/empty", 0, buf, &len, &st) == ZOK);
  CHECK(len == 0);
  // set_data to null and back
  REQUIRE(zoo_set(h.zh, "/empty", nullptr, -1, -1) == ZOK);
  len = sizeof buf;
  REQUIRE(zoo_get(h.zh, "/empty", 0, buf, &len, &st) == ZOK);
  CHECK(len == -1);
  REQUIRE(zoo_set(h.zh, "/null", "x", 1, -1) == ZOK);
  len = sizeof buf;
  REQUIRE(zoo_get(h.zh, "/null", 0, buf, &len, &st) == ZOK);
  CHECK(std::string(buf, static_cast<size_t>(len)) == "x");
}

TEST_CASE("a server restarted on its state file takes up the sessions it held",
          "[server][zookeeper][durability]") {
  const std::string dir = std::string(FKEMU_BINARY_DIR) + "/zookeeper-restart-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ServerOptions o = with_zookeeper();
  o.data_path = dir + "/state.db";
  o.admin_token = "restart-test-token";
  o.config.session_timeout = 30 * kSecond;  // the client must not expire meanwhile
  clientid_t id{};
  std::unique_ptr<Handle> h;
  {
    TestServer first(o);
    h = std::make_unique<Handle>(host_port(first));
    REQUIRE(h->connected());
    char made[64];
    REQUIRE(zoo_create(h->zh, "/eph", "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made,
                       sizeof made) == ZOK);
    id = *zoo_client_id(h->zh);
  }
  // The server is gone: closing the handle now reaches no server (the C client sends no close
  // request while it is not connected), so the session stays open in the state file.
  h.reset();
  TestServer second(o);
  Handle again(host_port(second), &id);
  REQUIRE(again.connected());
  CHECK(zoo_client_id(again.zh)->client_id == id.client_id);
  ::Stat st{};
  REQUIRE(zoo_exists(again.zh, "/eph", 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == id.client_id);
  char made[64];
  CHECK(zoo_create(again.zh, "/after", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  // A wrong password still finds the session expired.
  clientid_t wrong = id;
  wrong.passwd[3] = static_cast<char>(wrong.passwd[3] ^ 1);
  Handle impostor(host_port(second), &wrong);
  CHECK(impostor.state == ZOO_EXPIRED_SESSION_STATE);
}

TEST_CASE("a container goes once it has had children and has none again",
          "[server][zookeeper][container]") {
  TestServer server(with_zookeeper());
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[64];
  REQUIRE(zoo_create(h.zh, "/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, made, sizeof made) ==
          ZOK);
  REQUIRE(zoo_create(h.zh, "/never", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, made,
                     sizeof made) == ZOK);
  ::Stat st{};
  REQUIRE(zoo_exists(h.zh, "/c", 0, &st) == ZOK);
  CHECK(st.ephemeralOwner == 0);  // as ZooKeeper shows a container
  REQUIRE(zoo_create(h.zh, "/c/a", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  REQUIRE(zoo_create(h.zh, "/c/b", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made, sizeof made) ==
          ZOK);
  REQUIRE(zoo_delete(h.zh, "/c/a", -1) == ZOK);
  CHECK(zoo_exists(h.zh, "/c", 1, &st) == ZOK);  // one child left: it stays; a watch on it
  // The last child goes with a multi: the container follows, and its watch fires NodeDeleted.
  zoo_op_t ops[1];
  zoo_op_result_t results[1];
  zoo_delete_op_init(&ops[0], "/c/b", -1);
  REQUIRE(zoo_multi(h.zh, 1, ops, results) == ZOK);
  int rc = ZOK;
  for (int i = 0; i < 500 && (rc = zoo_exists(h.zh, "/c", 0, nullptr)) == ZOK; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rc == ZNONODE);
  for (int i = 0; i < 500 && h.events == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(h.last_event_type == ZOO_DELETED_EVENT);
  CHECK(h.last_event_path == "/c");
  // A container that never had children stays, as on ZooKeeper.
  CHECK(zoo_exists(h.zh, "/never", 0, nullptr) == ZOK);
  // Nested containers (Curator's parents) go one after the other, bottom up.
  REQUIRE(zoo_create(h.zh, "/p", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, made, sizeof made) ==
          ZOK);
  REQUIRE(zoo_create(h.zh, "/p/q", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_CONTAINER, made, sizeof made) ==
          ZOK);
  REQUIRE(zoo_create(h.zh, "/p/q/leaf", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made,
                     sizeof made) == ZOK);
  REQUIRE(zoo_delete(h.zh, "/p/q/leaf", -1) == ZOK);
  for (int i = 0; i < 500 && (rc = zoo_exists(h.zh, "/p", 0, nullptr)) == ZOK; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(rc == ZNONODE);
}

TEST_CASE("four-letter words answer in ZooKeeper's format", "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  const uint16_t port = server.server.zookeeper_port();
  CHECK(four_letter(port, "ruok") == "imok");
  const std::string envi = four_letter(port, "envi");
  CHECK(envi.find("zookeeper.version=3.8.0-fkemu") != std::string::npos);
  const std::string srvr = four_letter(port, "srvr");
  CHECK(srvr.find("Mode: standalone") != std::string::npos);
  CHECK(srvr.find("Node count: ") != std::string::npos);
  CHECK(four_letter(port, "conf").find("tickTime=1000") != std::string::npos);
  CHECK(four_letter(port, "mntr").find("zk_server_state\tstandalone") != std::string::npos);
  CHECK(four_letter(port, "wchs").find("Total watches:0") != std::string::npos);
}

TEST_CASE("hostile frames close their connection and leave the server serving",
          "[server][zookeeper][hostile]") {
  TestServer server(with_zookeeper());
  const uint16_t port = server.server.zookeeper_port();
  const std::vector<std::string> hostile = {
      std::string("\x7f\xff\xff\xff", 4),                        // a 2 GiB frame
      std::string("\xff\xff\xff\xfe", 4),                        // a negative length
      std::string("\x00\x00\x00\x00", 4),                        // an empty frame
      std::string("\x00\x00\x00\x03\x00\x00\x00", 7),            // a cut ConnectRequest
      std::string("\x00\x00\x00\x08", 4) + std::string(8, 'x'),  // a ConnectRequest cut short
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",                       // another protocol
  };
  for (const std::string& bytes : hostile) {
    RawSocket s(port);
    s.send(bytes);
    CHECK(s.read_all().empty());  // closed without an answer
  }
  // A session whose request is cut: its connection closes, the server answers the next one.
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[64];
  CHECK(zoo_create(h.zh, "/still", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  CHECK(four_letter(port, "ruok") == "imok");
  const std::string mntr = four_letter(port, "mntr");
  CHECK(mntr.find("fkemu_malformed_frames\t") != std::string::npos);
  CHECK(mntr.find("fkemu_malformed_frames\t0") == std::string::npos);
}

TEST_CASE("an operation fkemu does not implement answers ZUNIMPLEMENTED and is counted",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[64];
  // TTL nodes off (fkemu serve --no-ttl-nodes): as a ZooKeeper without extended types (its
  // default) answers them.
  ::Stat st{};
  CHECK(zoo_create2_ttl(h.zh, "/t", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 1000,
                        made, sizeof made, &st) == ZUNIMPLEMENTED);
  // The session goes on: the next request is answered.
  CHECK(zoo_create(h.zh, "/p", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  const std::string mntr = four_letter(server.server.zookeeper_port(), "mntr");
  CHECK(mntr.find("fkemu_unimplemented_requests\t1") != std::string::npos);
  // And by name in the admin counters.
  const testing::HttpAnswer counters =
      testing::http_once(server.port, boost::beast::http::verb::get, "/admin/counters");
  REQUIRE(counters.status == 200);
  CHECK(counters.body["zookeeper"]["unimplemented"]["createTTL"] == 1);
  CHECK(counters.body["zookeeper"]["connections_open"] >= 1);
}

TEST_CASE("getAllChildrenNumber, getEphemerals, multiRead, checkWatches and removeWatches",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  for (const auto& [path, flags] : std::vector<std::pair<std::string, int32_t>>{
           {"/a", 0}, {"/a/b", 0}, {"/a/b/c", 0}, {"/a/e1", 1}, {"/x", 1}})
    REQUIRE(zk.call(OpCode::Create, create_request(path, flags)).err == 0);

  auto number = zk.call(OpCode::GetAllChildrenNumber, path_request("/a"));
  REQUIRE(number.err == 0);
  CHECK(jute::Reader(number.body).i32() == 3);
  CHECK(zk.call(OpCode::GetAllChildrenNumber, path_request("/none")).err ==
        static_cast<int32_t>(Code::NoNode));

  auto eph = zk.call(OpCode::GetEphemerals, path_request("/a"));
  REQUIRE(eph.err == 0);
  CHECK(jute::Reader(eph.body).strings("e") == std::vector<std::string>{"/a/e1"});
  eph = zk.call(OpCode::GetEphemerals, path_request("/"));
  CHECK(jute::Reader(eph.body).strings("e") == std::vector<std::string>{"/a/e1", "/x"});

  jute::Writer multi;
  for (const auto& [op, path] : std::vector<std::pair<OpCode, std::string>>{
           {OpCode::GetData, "/a/b"}, {OpCode::GetChildren, "/a"}, {OpCode::GetData, "/gone"}}) {
    multi.i32(static_cast<int32_t>(op));
    multi.boolean(false);
    multi.i32(-1);
    multi.buffer(path);
    multi.boolean(false);
  }
  multi.i32(-1);
  multi.boolean(true);
  multi.i32(-1);
  auto reads = zk.call(OpCode::MultiRead, multi.bytes());
  REQUIRE(reads.err == 0);
  jute::Reader in(reads.body);
  CHECK(in.i32() == static_cast<int32_t>(OpCode::GetData));
  CHECK_FALSE(in.boolean());
  CHECK(in.i32() == 0);
  CHECK(in.buffer() == std::string());
  for (int i = 0; i < 6; ++i) (void)in.i64();  // the stat: 6 longs and 5 ints
  for (int i = 0; i < 5; ++i) (void)in.i32();
  CHECK(in.i32() == static_cast<int32_t>(OpCode::GetChildren));
  CHECK_FALSE(in.boolean());
  CHECK(in.i32() == 0);
  CHECK(in.strings("children") == std::vector<std::string>{"b", "e1"});
  CHECK(in.i32() == -1);  // an error result
  CHECK_FALSE(in.boolean());
  CHECK(in.i32() == static_cast<int32_t>(Code::NoNode));
  CHECK(in.i32() == static_cast<int32_t>(Code::NoNode));
  CHECK(in.i32() == -1);  // the end
  CHECK(in.boolean());
  CHECK(in.i32() == -1);
  CHECK(in.ok());

  // A data watch on /a: checked, removed; the change fires nothing.
  jute::Writer get;
  get.buffer("/a");
  get.boolean(true);
  REQUIRE(zk.call(OpCode::GetData, get.bytes()).err == 0);
  auto watch_request = [](int32_t kind) {
    jute::Writer w;
    w.buffer("/a");
    w.i32(kind);
    return w.bytes();
  };
  CHECK(zk.call(OpCode::CheckWatches, watch_request(2)).err == 0);
  CHECK(zk.call(OpCode::CheckWatches, watch_request(1)).err == -121);  // no children watch
  CHECK(zk.call(OpCode::RemoveWatches, watch_request(3)).err == 0);
  CHECK(zk.call(OpCode::CheckWatches, watch_request(3)).err == -121);
  jute::Writer set;
  set.buffer("/a");
  set.buffer("new");
  set.i32(-1);
  CHECK(zk.call(OpCode::SetData, set.bytes()).err == 0);  // (call() checks no event came first)
  CHECK(zk.call(OpCode::Exists, get.bytes()).err == 0);
}

TEST_CASE("a session's own write shows it the watch event before the answer, as ZooKeeper",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  REQUIRE(zk.call(OpCode::Create, create_request("/w", 0)).err == 0);
  for (int round = 0; round < 20; ++round) {
    jute::Writer get;
    get.buffer("/w");
    get.boolean(true);
    REQUIRE(zk.call(OpCode::GetData, get.bytes()).err == 0);
    jute::Writer set;
    set.buffer("/w");
    set.buffer("v" + std::to_string(round));
    set.i32(-1);
    const int32_t xid = zk.send(OpCode::SetData, set.bytes());
    const RawZk::Reply first = zk.reply();
    CHECK(first.xid == jute::kNotificationXid);  // NodeDataChanged first
    const RawZk::Reply second = zk.reply();
    CHECK(second.xid == xid);
  }
}

// What ZooKeeper 3.8 answers to each of these (measured on the real server by an outside
// review of the listener).
TEST_CASE("odd requests are answered as ZooKeeper answers them", "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  // A body that does not read: MarshallingError, and the connection goes on.
  CHECK(zk.call(OpCode::GetData, std::string("\x00\x00\x00\x09/a", 6)).err ==
        static_cast<int32_t>(Code::MarshallingError));
  // A ping is answered with the ping's xid, -2, whatever it carried.
  zk.send(OpCode::Ping, "");
  CHECK(zk.reply().xid == jute::kPingXid);
  // Create flags beyond ZooKeeper's modes: BadArguments; an empty ACL: InvalidACL.
  CHECK(zk.call(OpCode::Create, create_request("/f", 9)).err ==
        static_cast<int32_t>(Code::BadArguments));
  jute::Writer no_acl;
  no_acl.buffer("/g");
  no_acl.buffer("");
  no_acl.i32(0);
  no_acl.i32(0);
  CHECK(zk.call(OpCode::Create, no_acl.bytes()).err == -114);
  // A watch set twice on one path (getData, then exists) fires once.
  REQUIRE(zk.call(OpCode::Create, create_request("/d", 0)).err == 0);
  jute::Writer watch;
  watch.buffer("/d");
  watch.boolean(true);
  REQUIRE(zk.call(OpCode::GetData, watch.bytes()).err == 0);
  REQUIRE(zk.call(OpCode::Exists, watch.bytes()).err == 0);
  jute::Writer set;
  set.buffer("/d");
  set.buffer("x");
  set.i32(-1);
  const int32_t set_xid = zk.send(OpCode::SetData, set.bytes());
  CHECK(zk.reply().xid == jute::kNotificationXid);
  CHECK(zk.reply().xid == set_xid);  // no second event before the answer
  CHECK(zk.call(OpCode::Exists, path_request("/d") + '\0').xid != jute::kNotificationXid);
  // A multi of a thousand creates goes through; one more operation is refused.
  auto multi_of = [](int n) {
    jute::Writer w;
    for (int i = 0; i < n; ++i) {
      w.i32(static_cast<int32_t>(OpCode::Create));
      w.boolean(false);
      w.i32(-1);
      w.raw(create_request("/d/n" + std::to_string(i), 0));
    }
    w.i32(-1);
    w.boolean(true);
    w.i32(-1);
    return w.bytes();
  };
  CHECK(zk.call(OpCode::Multi, multi_of(1000)).err == 0);
  CHECK(zk.call(OpCode::Multi, multi_of(1001)).err == static_cast<int32_t>(Code::MarshallingError));
  // An operation ZooKeeper does not have: ZUNIMPLEMENTED, then the connection closes.
  CHECK(zk.call(static_cast<OpCode>(4242), "").err == static_cast<int32_t>(Code::Unimplemented));
  CHECK(zk.s.read_all().empty());
}

TEST_CASE("answers before a closeSession all go out; reply zxids never go down",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  std::vector<int32_t> xids;
  for (int i = 0; i < 10; ++i) {
    xids.push_back(zk.send(OpCode::Create, create_request("/z" + std::to_string(i), 0)));
    xids.push_back(zk.send(OpCode::Sync, path_request("/")));  // answered at once, sent after
  }
  xids.push_back(zk.send(OpCode::GetData, path_request("/z0") + '\0'));
  xids.push_back(zk.send(OpCode::CloseSession, ""));
  int64_t last = 0;
  for (int32_t xid : xids) {
    const RawZk::Reply r = zk.reply();
    REQUIRE(r.xid == xid);
    CHECK(r.err == 0);
    CHECK(r.zxid >= last);
    last = r.zxid;
  }
  CHECK(last >= 10);               // the creates' zxids
  CHECK(zk.s.read_all().empty());  // then the connection closes
}

TEST_CASE("pipelined requests are answered in order, each with its own result",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  std::vector<int32_t> xids;
  for (int i = 0; i < 20; ++i) {
    xids.push_back(zk.send(OpCode::Create, create_request("/n" + std::to_string(i), 0)));
    xids.push_back(zk.send(OpCode::Sync, path_request("/")));
    xids.push_back(zk.send(OpCode::GetChildren2, path_request("/n" + std::to_string(i)) + '\0'));
  }
  xids.push_back(zk.send(static_cast<OpCode>(999), ""));  // unknown: answered in its turn
  for (size_t i = 0; i < xids.size(); ++i) {
    const RawZk::Reply r = zk.reply();
    REQUIRE(r.xid == xids[i]);
    CHECK(r.err == (i + 1 == xids.size() ? static_cast<int32_t>(Code::Unimplemented) : 0));
  }
}

TEST_CASE("a client that pipelines thousands of requests before reading gets every answer",
          "[server][zookeeper]") {
  // Beyond 1,000 unanswered requests the server stops reading the connection until answers
  // drain (back pressure): nothing is lost and the order holds.
  TestServer server(with_zookeeper());
  RawZk zk(server.server.zookeeper_port());
  std::string batch;
  std::vector<int32_t> xids;
  for (int i = 0; i < 3000; ++i) {
    jute::Writer w;
    xids.push_back(zk.next_xid);
    w.i32(zk.next_xid++);
    w.i32(static_cast<int32_t>(jute::OpCode::Exists));
    w.buffer("/");
    w.boolean(false);
    batch += w.frame();
  }
  std::atomic<bool> sent_all{false};
  std::thread sender([&] {  // blocks while the server does not read (no Catch2 here: a thread)
    size_t at = 0;
    while (at < batch.size()) {
      const ssize_t n = ::send(zk.s.fd, batch.data() + at, batch.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return;
      at += static_cast<size_t>(n);
    }
    sent_all = true;
  });
  for (size_t i = 0; i < xids.size(); ++i) {
    const RawZk::Reply r = zk.reply();
    REQUIRE(r.xid == xids[i]);
    CHECK(r.err == 0);
  }
  sender.join();
  CHECK(sent_all);
}

// What ZooKeeper 3.8 answers to these multis (measured on the real server, and asserted by
// the C client test below on the same requests): results per operation, RolledBack (0) before
// the one that failed and RuntimeInconsistency (-2) after it, the header always OK.
TEST_CASE("multi through the wire: atomic, with ZooKeeper's per-operation results",
          "[server][zookeeper][multi]") {
  TestServer server(with_zookeeper());
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[4][64];
  zoo_op_t ops[5];
  zoo_op_result_t results[5];
  zoo_create_op_init(&ops[0], "/m", "a", 1, &ZOO_OPEN_ACL_UNSAFE, 0, made[0], sizeof made[0]);
  zoo_create_op_init(&ops[1], "/m/x", "b", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, made[1],
                     sizeof made[1]);
  ::Stat set_stat{};
  zoo_set_op_init(&ops[2], "/m", "c", 1, -1, &set_stat);
  zoo_check_op_init(&ops[3], "/m", 1);
  zoo_create_op_init(&ops[4], "/m/s-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, made[2],
                     sizeof made[2]);
  REQUIRE(zoo_multi(h.zh, 5, ops, results) == ZOK);
  for (const auto& r : results) CHECK(r.err == ZOK);
  CHECK(std::string(made[0]) == "/m");
  CHECK(std::string(made[1]) == "/m/x");
  CHECK(std::string(made[2]) == "/m/s-0000000001");  // the counter counts /m/x
  // setData's stat is the node as the multi had left it then: one child, version 1, and the
  // multi's zxid everywhere.
  CHECK(set_stat.version == 1);
  CHECK(set_stat.numChildren == 1);
  CHECK(set_stat.cversion == 1);
  CHECK(set_stat.czxid == set_stat.mzxid);
  CHECK(set_stat.pzxid == set_stat.mzxid);
  char buf[8];
  int len = sizeof buf;
  ::Stat after{};
  REQUIRE(zoo_get(h.zh, "/m", 0, buf, &len, &after) == ZOK);
  CHECK(std::string(buf, static_cast<size_t>(len)) == "c");
  CHECK(after.numChildren == 2);
  CHECK(after.mzxid == set_stat.mzxid);

  // A failing multi changes nothing.
  zoo_create_op_init(&ops[0], "/n", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made[0], sizeof made[0]);
  zoo_delete_op_init(&ops[1], "/nope", -1);
  zoo_create_op_init(&ops[2], "/n2", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made[1], sizeof made[1]);
  CHECK(zoo_multi(h.zh, 3, ops, results) == ZNONODE);
  CHECK(results[0].err == ZOK);
  CHECK(results[1].err == ZNONODE);
  CHECK(results[2].err == ZRUNTIMEINCONSISTENCY);
  CHECK(zoo_exists(h.zh, "/n", 0, nullptr) == ZNONODE);
  CHECK(zoo_exists(h.zh, "/n2", 0, nullptr) == ZNONODE);

  // A node created and deleted in one multi; an exists watch on it fires once, NodeCreated.
  REQUIRE(zoo_exists(h.zh, "/q", 1, nullptr) == ZNONODE);
  zoo_create_op_init(&ops[0], "/q", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made[0], sizeof made[0]);
  zoo_delete_op_init(&ops[1], "/q", -1);
  CHECK(zoo_multi(h.zh, 2, ops, results) == ZOK);
  for (int i = 0; i < 500 && h.events == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(h.events == 1);
  CHECK(h.last_event_path == "/q");
  CHECK(h.last_event_type == ZOO_CREATED_EVENT);
  CHECK(zoo_exists(h.zh, "/q", 0, nullptr) == ZNONODE);

  // The ephemeral made by a multi goes with its session.
  const clientid_t id = *zoo_client_id(h.zh);
  zookeeper_close(h.zh);
  h.zh = nullptr;
  (void)id;
  Handle other(host_port(server));
  int rc = ZOK;
  for (int i = 0; i < 200 && (rc = zoo_exists(other.zh, "/m/x", 0, nullptr)) == ZOK; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(rc == ZNONODE);
}

TEST_CASE("addWatch: persistent and recursive watches through the wire, one event per change",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk watcher(server.server.zookeeper_port());
  RawZk writer(server.server.zookeeper_port());
  using jute::OpCode;
  Watching w{watcher};
  auto add_watch = [&w](const std::string& path, int32_t mode) { return w.add_watch(path, mode); };
  auto event = [&w] { return w.event(); };
  // The answer is ZooKeeper's: an error response of 0. A mode other than 0 and 1 does not read.
  const RawZk::Reply added = add_watch("/r", 1);
  CHECK(added.err == 0);
  CHECK(added.body == std::string(4, '\0'));
  CHECK(add_watch("/p", 0).err == 0);
  CHECK(add_watch("/x", 7).err == static_cast<int32_t>(Code::MarshallingError));
  // Each change is one event, with the path that changed.
  for (const char* path : {"/r", "/r/a", "/r/a/b", "/p", "/p/c"})
    REQUIRE(writer.call(OpCode::Create, create_request(path, 0)).err == 0);
  CHECK(event() == "1 /r");  // NodeCreated
  CHECK(event() == "1 /r/a");
  CHECK(event() == "1 /r/a/b");
  CHECK(event() == "1 /p");
  CHECK(event() == "4 /p");  // NodeChildrenChanged: a persistent watch is not recursive
  // A one-shot getData watch beside the persistent one: one event for the change, and the
  // persistent watch goes on.
  jute::Writer get;
  get.buffer("/p");
  get.boolean(true);
  REQUIRE(watcher.call(OpCode::GetData, get.bytes()).err == 0);
  REQUIRE(writer.call(OpCode::SetData, set_request("/p")).err == 0);
  CHECK(event() == "3 /p");  // NodeDataChanged, once
  REQUIRE(writer.call(OpCode::SetData, set_request("/p")).err == 0);
  CHECK(event() == "3 /p");
  // removeWatches of any kind removes it: the next change is not sent, the one after a new
  // watch is.
  REQUIRE(watcher.call(OpCode::RemoveWatches, watches_request("/p", 3)).err == 0);
  REQUIRE(writer.call(OpCode::SetData, set_request("/p")).err == 0);
  REQUIRE(add_watch("/p", 0).err == 0);
  REQUIRE(writer.call(OpCode::SetData, set_request("/p")).err == 0);
  CHECK(event() == "3 /p");
  const std::string wchs = four_letter(server.server.zookeeper_port(), "wchs");
  CHECK(wchs.find("watching 2 paths") != std::string::npos);
}

TEST_CASE("ACLs through the wire: getAllChildrenNumber counts below a node it may read",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk owner(server.server.zookeeper_port());
  RawZk other(server.server.zookeeper_port());
  using jute::OpCode;
  jute::Writer auth;
  auth.i32(0);
  auth.buffer("digest");
  auth.buffer("alice:pw");
  owner.send(OpCode::Auth, auth.bytes());
  REQUIRE(owner.reply().err == 0);
  auto create = [&](const std::string& path, const std::string& scheme, const std::string& id) {
    jute::Writer w;
    w.buffer(path);
    w.buffer("");
    w.i32(1);
    w.i32(31);
    w.buffer(scheme);
    w.buffer(id);
    w.i32(0);
    return owner.call(OpCode::Create, w.bytes()).err;
  };
  REQUIRE(create("/top", "world", "anyone") == 0);
  REQUIRE(create("/top/mine", "auth", "") == 0);
  REQUIRE(create("/top/mine/a", "auth", "") == 0);
  REQUIRE(create("/top/mine/b", "auth", "") == 0);
  auto count = [&](RawZk& zk, const std::string& path) {
    const RawZk::Reply r = zk.call(OpCode::GetAllChildrenNumber, path_request(path));
    jute::Reader in(r.body);
    return std::to_string(r.err) + ":" + std::to_string(r.err == 0 ? in.i32() : -1);
  };
  CHECK(count(other, "/top") == "0:3");  // READ on /top is enough, as on ZooKeeper
  CHECK(count(other, "/top/mine") == "-102:-1");
  CHECK(count(owner, "/top/mine") == "0:2");
  // whoAmI: the address, then the digest's user.
  const RawZk::Reply who = owner.call(OpCode::WhoAmI, "");
  jute::Reader in(who.body);
  REQUIRE(in.i32() == 2);
  CHECK(in.text("scheme") == "ip");
  CHECK(in.text("user") == "127.0.0.1");
  CHECK(in.text("scheme") == "digest");
  CHECK(in.text("user") == "alice");
}

TEST_CASE("addWatch: every change of a multi is its own event; removeWatches takes a half",
          "[server][zookeeper]") {
  TestServer server(with_zookeeper());
  RawZk watcher(server.server.zookeeper_port());
  RawZk writer(server.server.zookeeper_port());
  using jute::OpCode;
  Watching w{watcher};
  auto add_watch = [&w](const std::string& path, int32_t mode) {
    return w.add_watch(path, mode).err;
  };
  auto event = [&w] { return w.event(); };
  REQUIRE(writer.call(OpCode::Create, create_request("/pr", 0)).err == 0);
  REQUIRE(add_watch("/pr", 1) == 0);
  // One multi: create, set, delete and create /pr/x again: four changes, four events (the
  // same event on the same path twice in one update is two changes, as on ZooKeeper).
  jute::Writer m;
  auto op = [&m](OpCode code, const std::string& body) {
    m.i32(static_cast<int32_t>(code));
    m.boolean(false);
    m.i32(-1);
    m.raw(body);
  };
  op(OpCode::Create, create_request("/pr/x", 0));
  op(OpCode::SetData, set_request("/pr/x"));
  jute::Writer del;
  del.buffer("/pr/x");
  del.i32(-1);
  op(OpCode::Delete, del.bytes());
  op(OpCode::Create, create_request("/pr/x", 0));
  m.i32(-1);
  m.boolean(true);
  m.i32(-1);
  REQUIRE(writer.call(OpCode::Multi, m.bytes()).err == 0);
  CHECK(event() == "1 /pr/x");
  CHECK(event() == "3 /pr/x");
  CHECK(event() == "2 /pr/x");
  CHECK(event() == "1 /pr/x");
  // A persistent watch is a data and a children watch: removeWatches of the children kind (1)
  // leaves the data half, which the data kind (2) then removes.
  REQUIRE(writer.call(OpCode::Create, create_request("/pw", 0)).err == 0);
  REQUIRE(add_watch("/pw", 0) == 0);
  REQUIRE(watcher.call(OpCode::RemoveWatches, watches_request("/pw", 1)).err == 0);
  REQUIRE(watcher.call(OpCode::CheckWatches, watches_request("/pw", 1)).err == -121);  // none
  REQUIRE(writer.call(OpCode::Create, create_request("/pw/c", 0)).err == 0);           // no event
  REQUIRE(writer.call(OpCode::SetData, set_request("/pw")).err == 0);
  CHECK(event() == "3 /pw");
  REQUIRE(watcher.call(OpCode::RemoveWatches, watches_request("/pw", 2)).err == 0);
  REQUIRE(watcher.call(OpCode::CheckWatches, watches_request("/pw", 2)).err == -121);
  REQUIRE(writer.call(OpCode::SetData, set_request("/pw")).err == 0);
  // /zookeeper/config is world-readable only, as on ZooKeeper.
  CHECK(writer.call(OpCode::SetData, set_request("/zookeeper/config")).err ==
        static_cast<int32_t>(Code::NoAuth));
  // Nothing came after the data half went: the next frame is this ping's answer.
  watcher.send(OpCode::Ping, "");
  CHECK(watcher.reply().xid == jute::kPingXid);
}

TEST_CASE("TTL nodes over the wire: made by the C client, deleted once their time is up",
          "[server][zookeeper][ttl]") {
  DeploymentConfig config;
  config.ttl_nodes = true;
  config.heartbeat_period = 100 * kMillisecond;  // the TTL function looks every 100 ms
  config.session_timeout = 2 * kSecond;
  TestServer server(with_zookeeper(config));
  Handle h(host_port(server));
  REQUIRE(h.connected());
  char made[64];
  ::Stat st{};
  REQUIRE(zoo_create2_ttl(h.zh, "/lease", "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL,
                          300, made, sizeof made, &st) == ZOK);
  CHECK(std::string(made) == "/lease");
  CHECK(st.ephemeralOwner == 0);  // as ZooKeeper shows a TTL node (checked on the real server)
  REQUIRE(zoo_create2_ttl(h.zh, "/keep-", "", 0, &ZOO_OPEN_ACL_UNSAFE,
                          ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 600000, made, sizeof made,
                          &st) == ZOK);
  CHECK(std::string(made) == "/keep-0000000001");
  // A TTL node with a child stays; the other goes, and its watch fires NodeDeleted.
  REQUIRE(zoo_create2_ttl(h.zh, "/held", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 300,
                          made, sizeof made, &st) == ZOK);
  REQUIRE(zoo_create(h.zh, "/held/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, made, sizeof made) == ZOK);
  REQUIRE(zoo_exists(h.zh, "/lease", 1, &st) == ZOK);
  int rc = ZOK;
  for (int i = 0; i < 1000 && rc == ZOK; ++i) {  // at most 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rc = zoo_exists(h.zh, "/lease", 0, &st);
  }
  CHECK(rc == ZNONODE);
  for (int i = 0; i < 500 && h.events == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(h.events == 1);
  CHECK(h.last_event_type == ZOO_DELETED_EVENT);
  CHECK(h.last_event_path == "/lease");
  CHECK(zoo_exists(h.zh, "/held", 0, &st) == ZOK);
  CHECK(zoo_exists(h.zh, "/keep-0000000001", 0, &st) == ZOK);
  // Once its child is gone, the held node goes too.
  REQUIRE(zoo_delete(h.zh, "/held/c", -1) == ZOK);
  rc = ZOK;
  for (int i = 0; i < 1000 && rc == ZOK; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    rc = zoo_exists(h.zh, "/held", 0, &st);
  }
  CHECK(rc == ZNONODE);
  // The server checks the time as ZooKeeper does; the C client refuses a bad one itself.
  CHECK(zoo_create2_ttl(h.zh, "/bad", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 0, made,
                        sizeof made, &st) == ZBADARGUMENTS);
}

// What ZooKeeper 3.8 does with each create request and mode, TTL ones included, as an outside
// probe measured it on the real server with hand-made frames (decision 53).
TEST_CASE("create requests make the node ZooKeeper 3.8 makes for their type and mode",
          "[server][zookeeper][ttl]") {
  DeploymentConfig config;
  config.ttl_nodes = true;
  TestServer server(with_zookeeper(config));
  RawZk zk(server.server.zookeeper_port());
  using jute::OpCode;
  auto ttl_request = [](const std::string& path, int32_t flags, int64_t ttl) {
    jute::Writer w;
    w.raw(create_request(path, flags));
    w.i64(ttl);
    return w.bytes();
  };
  auto err = [&](OpCode op, const std::string& body) { return zk.call(op, body).err; };
  const int32_t bad = static_cast<int32_t>(Code::BadArguments);
  // A lone createTTL: a TTL mode needs a time of 1 to 2^40-1, checked before the parent; a
  // time with another mode is refused (a negative one asks for no TTL: the plain create).
  CHECK(err(OpCode::CreateTtl, ttl_request("/none/t", 5, 0)) == bad);
  CHECK(err(OpCode::CreateTtl, ttl_request("/none/t", 5, int64_t{1} << 40)) == bad);
  CHECK(err(OpCode::CreateTtl, ttl_request("/none/t", 5, 5000)) ==
        static_cast<int32_t>(Code::NoNode));
  CHECK(err(OpCode::CreateTtl, ttl_request("/p", 0, 1000)) == bad);
  CHECK(err(OpCode::CreateTtl, ttl_request("/p", 0, -1)) == 0);
  CHECK(err(OpCode::Create, create_request("/t", 5)) == bad);   // a TTL mode without a time
  CHECK(err(OpCode::Create2, create_request("/t", 7)) == bad);  // no such mode
  CHECK(err(OpCode::CreateTtl, ttl_request("/t", 6, (int64_t{1} << 40) - 1)) == 0);
  // A createContainer with a sequential mode is named as a sequential node.
  RawZk::Reply seq = zk.call(OpCode::CreateContainer, create_request("/c", 2));
  REQUIRE(seq.err == 0);
  CHECK(jute::Reader(seq.body).text("the name") == "/c0000000002");
  // In a multi the mode alone decides: a createTTL of a plain mode makes a plain node (its
  // time ignored, answered as a create: the name), a create with the container mode a
  // container and a createTTL a TTL node (answered as a create2: the name and the stat), a
  // createContainer with the ephemeral mode an ephemeral node.
  jute::Writer multi;
  auto op = [&](OpCode type, const std::string& body) {
    multi.i32(static_cast<int32_t>(type));
    multi.boolean(false);
    multi.i32(-1);
    multi.raw(body);
  };
  op(OpCode::CreateTtl, ttl_request("/m-plain", 0, 1000));
  op(OpCode::Create, create_request("/m-container", 4));
  op(OpCode::CreateTtl, ttl_request("/m-ttl", 5, 60000));
  op(OpCode::CreateContainer, create_request("/m-eph", 1));
  multi.i32(-1);
  multi.boolean(true);
  multi.i32(-1);
  const RawZk::Reply made = zk.call(OpCode::Multi, multi.bytes());
  REQUIRE(made.err == 0);
  jute::Reader in(made.body);
  for (const auto& [type, path] :
       std::vector<std::pair<OpCode, std::string>>{{OpCode::Create, "/m-plain"},
                                                   {OpCode::Create2, "/m-container"},
                                                   {OpCode::Create2, "/m-ttl"},
                                                   {OpCode::Create, "/m-eph"}}) {
    INFO(path);
    CHECK(in.i32() == static_cast<int32_t>(type));
    CHECK_FALSE(in.boolean());
    CHECK(in.i32() == 0);
    CHECK(in.text("the name") == path);
    if (type == OpCode::Create2) {
      for (int i = 0; i < 6; ++i) (void)in.i64();  // the stat: 6 longs and 5 ints
      for (int i = 0; i < 5; ++i) (void)in.i32();
    }
  }
  CHECK(in.i32() == -1);
  CHECK(in.boolean());
  CHECK(in.ok());
  const RawZk::Reply eph = zk.call(OpCode::GetEphemerals, path_request("/"));
  REQUIRE(eph.err == 0);
  CHECK(jute::Reader(eph.body).strings("e") == std::vector<std::string>{"/m-eph"});
  // A TTL mode in a multi's create (which has no time) refuses the whole multi.
  jute::Writer refused;
  refused.i32(static_cast<int32_t>(OpCode::Create));
  refused.boolean(false);
  refused.i32(-1);
  refused.raw(create_request("/m-no", 5));
  refused.i32(-1);
  refused.boolean(true);
  refused.i32(-1);
  CHECK(zk.call(OpCode::Multi, refused.bytes()).err ==
        static_cast<int32_t>(Code::MarshallingError));
}

}  // namespace
}  // namespace fkemu
