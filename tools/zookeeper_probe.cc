// zookeeper_probe: a standalone program that connects to a running ZooKeeper
// server and prints the facts the emulator's behaviour is checked against
// (stats of the initial tree, cversion/pzxid evolution, path validation,
// error precedence, size limits, watch delivery). Its output was used to
// write docs/zookeeper-facts.md. Built with the ZooKeeper reference runner (target
// zookeeper_probe):
//
//   build/release/tools/zookeeper_probe 127.0.0.1:PORT
//
// Run it against a FRESH server (it reports the initial tree first) that no
// one else uses; it creates nodes under /p, /q, /e, /w, /big, ... and does
// not clean up.

#include <zookeeper/zookeeper.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/zookeeper_runner.h"

namespace {

// ---------------------------------------------------------------------------
// Event log shared by all watcher and completion callbacks. Each entry is a
// line such as "watch[label] NodeDataChanged /w/x" or "completion[label] rc=0".
std::mutex g_mu;
std::condition_variable g_cv;
std::vector<std::string> g_log;

void Log(const std::string& line) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_log.push_back(line);
  g_cv.notify_all();
}

std::vector<std::string> TakeLog() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::vector<std::string> out;
  out.swap(g_log);
  return out;
}

const char* EventName(int type) {
  if (type == ZOO_CREATED_EVENT) return "NodeCreated";
  if (type == ZOO_DELETED_EVENT) return "NodeDeleted";
  if (type == ZOO_CHANGED_EVENT) return "NodeDataChanged";
  if (type == ZOO_CHILD_EVENT) return "NodeChildrenChanged";
  if (type == ZOO_SESSION_EVENT) return "Session";
  if (type == ZOO_NOTWATCHING_EVENT) return "NotWatching";
  return "Unknown";
}

// ZooKeeper's name of a C-client return code (the reference runner's table).
const char* RcName(int rc) {
  static thread_local std::string name;
  name = fkemu::zkref::zookeeper_error_name(rc);
  return name.c_str();
}

// A session and its connection state (set by the global watcher).
struct Conn {
  zhandle_t* zh = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int state = 0;
};

void GlobalWatcher(zhandle_t*, int type, int state, const char* path, void* ctx) {
  auto* conn = static_cast<Conn*>(ctx);
  if (type == ZOO_SESSION_EVENT) {
    std::lock_guard<std::mutex> lock(conn->mu);
    conn->state = state;
    conn->cv.notify_all();
    return;
  }
  Log(std::string("global-watch ") + EventName(type) + " " + (path ? path : ""));
}

void DropLog(const char*) {}

Conn* Connect(const char* host) {
  auto* conn = new Conn;
  conn->zh =
      zookeeper_init2(host, GlobalWatcher, 4000, nullptr, conn, ZOO_NO_LOG_CLIENTENV, DropLog);
  std::unique_lock<std::mutex> lock(conn->mu);
  conn->cv.wait_for(lock, std::chrono::seconds(10),
                    [&] { return conn->state == ZOO_CONNECTED_STATE; });
  if (conn->state != ZOO_CONNECTED_STATE) {
    std::printf("FATAL: cannot connect to %s\n", host);
    std::exit(1);
  }
  return conn;
}

bool WaitConnected(Conn* conn, int seconds) {
  std::unique_lock<std::mutex> lock(conn->mu);
  return conn->cv.wait_for(lock, std::chrono::seconds(seconds),
                           [&] { return conn->state == ZOO_CONNECTED_STATE; });
}

std::string Hex(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string StatStr(const Stat& s) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "czxid=%s mzxid=%s pzxid=%s ctime=%lld mtime=%lld version=%d cversion=%d "
                "aversion=%d ephemeralOwner=%s dataLength=%d numChildren=%d",
                Hex(s.czxid).c_str(), Hex(s.mzxid).c_str(), Hex(s.pzxid).c_str(),
                static_cast<long long>(s.ctime), static_cast<long long>(s.mtime), s.version,
                s.cversion, s.aversion, Hex(s.ephemeralOwner).c_str(), s.dataLength, s.numChildren);
  return buf;
}

std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// One asynchronous call's completion: the C client's completion thread finishes it, the
// probe's thread waits for it. Allocated per call and freed by the waiter once finished; left
// allocated on a timeout on purpose (the callback may still run).
struct Completion {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  std::string value;

  static Completion* of(const void* data) {
    return static_cast<Completion*>(const_cast<void*>(data));
  }
  void finish(int result, const char* text = nullptr) {
    std::lock_guard<std::mutex> lock(mu);
    rc = result;
    if (text) value = text;
    done = true;
    cv.notify_all();
  }
  // Waits at most `limit`; false on a timeout.
  bool wait(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, [&] { return done; });
  }
};

// Waits until every callback queued on `zh` before now has run: an async
// exists("/") completion is processed on the completion thread after all
// notifications that arrived before its response.
void Barrier(zhandle_t* zh, const char* label = "barrier") {
  auto* c = new Completion;
  int rc = zoo_aexists(
      zh, "/", 0,
      [](int result, const Stat*, const void* data) { Completion::of(data)->finish(result); }, c);
  if (rc != ZOK) {
    std::printf("  (%s: zoo_aexists rc=%s)\n", label, RcName(rc));
    delete c;
    return;
  }
  if (!c->wait(std::chrono::seconds(15))) {
    std::printf("  (%s: timed out)\n", label);
    return;
  }
  delete c;
}

void PrintAndClearLog(const char* indent = "  ") {
  for (const std::string& line : TakeLog()) std::printf("%s%s\n", indent, line.c_str());
}

// Watcher whose context is a heap string label (never freed; this is a probe).
void LabelWatcher(zhandle_t*, int type, int, const char* path, void* ctx) {
  Log(std::string("watch[") + static_cast<const char*>(ctx) + "] " + EventName(type) + " " +
      (path ? path : ""));
}

char* Label(const std::string& s) { return strdup(s.c_str()); }

// --- thin synchronous wrappers that print what happened ---------------------

int Create(zhandle_t* zh, const std::string& path, const std::string& data, int mode,
           std::string* created = nullptr, Stat* stat_out = nullptr, bool quiet = false) {
  char buf[1024];
  Stat st{};
  int rc = zoo_create2(zh, path.c_str(), data.data(), static_cast<int>(data.size()),
                       &ZOO_OPEN_ACL_UNSAFE, mode, buf, sizeof buf, &st);
  if (!quiet) {
    std::printf("create %s (mode %d, %zu bytes) -> %s", Printable(path).c_str(), mode, data.size(),
                RcName(rc));
    if (rc == ZOK) std::printf(" path=%s stat{%s}", buf, StatStr(st).c_str());
    std::printf("\n");
  }
  if (rc == ZOK && created) *created = buf;
  if (rc == ZOK && stat_out) *stat_out = st;
  return rc;
}

int Exists(zhandle_t* zh, const std::string& path, Stat* out = nullptr, bool quiet = false) {
  Stat st{};
  int rc = zoo_exists(zh, path.c_str(), 0, &st);
  if (!quiet) {
    std::printf("exists %s -> %s", Printable(path).c_str(), RcName(rc));
    if (rc == ZOK) std::printf(" stat{%s}", StatStr(st).c_str());
    std::printf("\n");
  }
  if (out) *out = st;
  return rc;
}

void Children(zhandle_t* zh, const std::string& path) {
  String_vector v{};
  Stat st{};
  int rc = zoo_get_children2(zh, path.c_str(), 0, &v, &st);
  std::printf("get_children %s -> %s", path.c_str(), RcName(rc));
  if (rc == ZOK) {
    std::printf(" [");
    for (int i = 0; i < v.count; ++i) std::printf("%s%s", i ? ", " : "", v.data[i]);
    std::printf("] stat{%s}", StatStr(st).c_str());
    deallocate_String_vector(&v);
  }
  std::printf("\n");
}

int Delete(zhandle_t* zh, const std::string& path, int version = -1) {
  int rc = zoo_delete(zh, path.c_str(), version);
  std::printf("delete %s version=%d -> %s\n", Printable(path).c_str(), version, RcName(rc));
  return rc;
}

int SetData(zhandle_t* zh, const std::string& path, const std::string& data, int version = -1) {
  Stat st{};
  int rc = zoo_set2(zh, path.c_str(), data.data(), static_cast<int>(data.size()), version, &st);
  std::printf("set_data %s (%zu bytes) version=%d -> %s", Printable(path).c_str(), data.size(),
              version, RcName(rc));
  if (rc == ZOK) std::printf(" stat{%s}", StatStr(st).c_str());
  std::printf("\n");
  return rc;
}

void GetData(zhandle_t* zh, const std::string& path) {
  std::vector<char> buf(64);
  int len = static_cast<int>(buf.size());
  Stat st{};
  int rc = zoo_get(zh, path.c_str(), 0, buf.data(), &len, &st);
  std::printf("get_data %s -> %s", Printable(path).c_str(), RcName(rc));
  if (rc == ZOK) std::printf(" value_len=%d stat{%s}", len, StatStr(st).c_str());
  std::printf("\n");
}

// Issues an async create and tells whether the error was produced by the
// client library (the call itself fails) or by the server (the completion).
// Prints where an asynchronous call's error came from: the call itself (the client refused it
// and sent nothing) or its completion (the server answered). Frees `c` unless it timed out.
void PrintWhere(int call_rc, Completion* c) {
  if (call_rc != ZOK) {
    std::printf("%s (client-side, no request sent)\n", RcName(call_rc));
    delete c;
    return;
  }
  if (!c->wait(std::chrono::seconds(10))) {
    std::printf("timed out\n");
    return;
  }
  std::printf("%s (server)%s%s\n", RcName(c->rc),
              c->value.empty() ? "" : " path=", Printable(c->value).c_str());
  delete c;
}

void CreateWhere(zhandle_t* zh, const std::string& path, int mode) {
  std::printf("create \"%s\" (mode %d) -> ", Printable(path).c_str(), mode);
  auto* c = new Completion;
  PrintWhere(zoo_acreate(
                 zh, path.c_str(), "x", 1, &ZOO_OPEN_ACL_UNSAFE, mode,
                 [](int rc, const char* value, const void* data) {
                   Completion::of(data)->finish(rc, value);
                 },
                 c),
             c);
}

void DeleteWhere(zhandle_t* zh, const std::string& path, int version) {
  std::printf("delete \"%s\" version=%d -> ", Printable(path).c_str(), version);
  auto* c = new Completion;
  PrintWhere(zoo_adelete(
                 zh, path.c_str(), version,
                 [](int rc, const void* data) { Completion::of(data)->finish(rc); }, c),
             c);
}

void ExistsWhere(zhandle_t* zh, const std::string& path) {
  Stat st{};
  int rc = zoo_exists(zh, path.c_str(), 0, &st);
  std::printf("exists \"%s\" -> %s\n", Printable(path).c_str(), RcName(rc));
}

// ---------------------------------------------------------------------------

void InitialTree(Conn* c) {
  std::printf("\n== 1. initial tree ==\n");
  Exists(c->zh, "/");
  Exists(c->zh, "/zookeeper");
  Children(c->zh, "/");
  Children(c->zh, "/zookeeper");
  Exists(c->zh, "/zookeeper/config");
  Exists(c->zh, "/zookeeper/quota");
  GetData(c->zh, "/");
  GetData(c->zh, "/zookeeper");
  GetData(c->zh, "/zookeeper/config");
  GetData(c->zh, "/zookeeper/quota");
}

void ParentCounters(Conn* c) {
  std::printf("\n== 2. parent cversion / pzxid / numChildren ==\n");
  Stat st{};
  auto parent = [&] {
    Exists(c->zh, "/p", &st, true);
    std::printf("    /p: cversion=%d pzxid=%s numChildren=%d mzxid=%s version=%d\n", st.cversion,
                Hex(st.pzxid).c_str(), st.numChildren, Hex(st.mzxid).c_str(), st.version);
  };
  Create(c->zh, "/p", "", ZOO_PERSISTENT);
  parent();
  Create(c->zh, "/p/a", "", ZOO_PERSISTENT);
  parent();
  Create(c->zh, "/p/b", "", ZOO_PERSISTENT);
  parent();
  Delete(c->zh, "/p/a");
  parent();
  std::string s1, s2;
  Create(c->zh, "/p/s-", "", ZOO_PERSISTENT_SEQUENTIAL, &s1);
  parent();
  Delete(c->zh, s1);
  parent();
  Create(c->zh, "/p/s-", "", ZOO_PERSISTENT_SEQUENTIAL, &s2);
  parent();
  Create(c->zh, "/p/", "", ZOO_PERSISTENT_SEQUENTIAL);
  parent();
  Create(c->zh, "/p/b", "", ZOO_PERSISTENT);  // NodeExists: does it bump cversion?
  parent();
  Delete(c->zh, "/p/zz");  // NoNode
  parent();
  SetData(c->zh, "/p/b", "x");  // child data change
  parent();
  Create(c->zh, "/p/b/c", "", ZOO_PERSISTENT);  // grandchild
  parent();
  SetData(c->zh, "/p", "y");
  parent();
  std::printf("  sequential counter 2^31 wrap is not probed\n");
  Create(c->zh, "/p/e-", "", ZOO_EPHEMERAL_SEQUENTIAL);
  parent();

  std::printf("-- /r: create a, delete a, create b, delete b, then sequential\n");
  Create(c->zh, "/r", "", ZOO_PERSISTENT, nullptr, nullptr, true);
  for (const char* p : {"/r/a", "/r/b"}) {
    Create(c->zh, p, "", ZOO_PERSISTENT, nullptr, nullptr, true);
    zoo_delete(c->zh, p, -1);
  }
  Exists(c->zh, "/r", &st, true);
  std::printf("    /r before: cversion=%d numChildren=%d\n", st.cversion, st.numChildren);
  Create(c->zh, "/r/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
  std::printf("-- /t: a sequential name collides with an existing node\n");
  Create(c->zh, "/t", "", ZOO_PERSISTENT, nullptr, nullptr, true);
  Create(c->zh, "/t/x", "", ZOO_PERSISTENT, nullptr, nullptr, true);
  Create(c->zh, "/t/s-0000000002", "", ZOO_PERSISTENT);
  Create(c->zh, "/t/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
  Create(c->zh, "/t/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
  Create(c->zh, "/t/y", "", ZOO_PERSISTENT);
  Create(c->zh, "/t/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
  std::printf("-- /u: failed (NodeExists) create, then sequential\n");
  Create(c->zh, "/u", "", ZOO_PERSISTENT, nullptr, nullptr, true);
  Create(c->zh, "/u/a", "", ZOO_PERSISTENT, nullptr, nullptr, true);
  Create(c->zh, "/u/a", "", ZOO_PERSISTENT);
  Create(c->zh, "/u/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
  std::printf("-- sequential under different prefixes share one counter per parent\n");
  Create(c->zh, "/u/x-", "", ZOO_PERSISTENT_SEQUENTIAL);
  Create(c->zh, "/u/", "", ZOO_PERSISTENT_SEQUENTIAL);
}

void ReservedZookeeper(Conn* c) {
  std::printf("\n== 3. /zookeeper ==\n");
  Create(c->zh, "/zookeeper/x", "", ZOO_PERSISTENT);
  SetData(c->zh, "/zookeeper", "x");
  Delete(c->zh, "/zookeeper");
  Create(c->zh, "/zookeeper", "", ZOO_PERSISTENT);
  Delete(c->zh, "/zookeeper/quota");
  Delete(c->zh, "/zookeeper/config");
  SetData(c->zh, "/zookeeper/quota", "x");
  Exists(c->zh, "/zookeeper");
  Children(c->zh, "/zookeeper");
  Exists(c->zh, "/zookeeper/x");
}

void Paths(Conn* c) {
  std::printf("\n== 4. path validation (nothing of /nope exists) ==\n");
  const std::vector<std::string> paths = {
      "",
      "/",
      "a",
      "/a/",
      "/nope/a/",
      "/a//b",
      "/nope//b",
      "/a/./b",
      "/a/../b",
      "/.",
      "/..",
      "/a/.",
      "/a/..",
      "/.a",
      "/a.",
      "/...",
      "/a\x01"
      "b",
      "/nope/\x01",
      "/a\x1f",
      "/a\x7f",
      "/a\xc2\x80",
      "/a\xc2\x9f",
      "/a\xc2\xa0",
      "/a\xed\xa0\x80",
      "/a\xef\xa3\xbf",
      "/a\xef\xbf\xb0",
      "/a\xef\xbf\xbf",
      "/a\xff",
      "/a b",
      "//",
      "/zookeeper/",
  };
  for (const std::string& p : paths) CreateWhere(c->zh, p, ZOO_PERSISTENT);
  std::printf("  -- same with sequential flag --\n");
  for (const std::string& p :
       {std::string("/"), std::string("/a/"), std::string("/nope/"), std::string("a"),
        std::string("/a//"), std::string("/a/."), std::string("/a/.."), std::string("")}) {
    CreateWhere(c->zh, p, ZOO_PERSISTENT_SEQUENTIAL);
  }
  std::printf("  -- reads --\n");
  for (const std::string& p :
       {std::string(""), std::string("a"), std::string("/a/"), std::string("/a//b"),
        std::string("/a/./b"), std::string("/a\x01"), std::string("/a\xc2\x80")}) {
    ExistsWhere(c->zh, p);
  }
  std::printf("  (a NUL byte cannot be passed: the C API takes NUL-terminated paths)\n");
  std::printf("  -- control characters, one per path \"/c<c>\": where rejected --\n");
  std::string client_side, server_side, accepted;
  for (int ch = 1; ch <= 0xa0; ++ch) {
    if (ch >= 0x20 && ch < 0x7f) continue;
    std::string path = "/c";
    if (ch < 0x80) {
      path += static_cast<char>(ch);
    } else {  // UTF-8 encoding of U+0080..U+00A0
      path += static_cast<char>(0xc0 | (ch >> 6));
      path += static_cast<char>(0x80 | (ch & 0x3f));
    }
    char buf[256];
    int rc = zoo_create(c->zh, path.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf,
                        sizeof buf);
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02x ", ch);
    // zoo_create cannot tell client from server; retry async for the verdict.
    if (rc == ZOK) {
      accepted += hex;
      zoo_delete(c->zh, path.c_str(), -1);
    } else {
      struct Flag {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
      };
      auto* f = new Flag;
      int call = zoo_acreate(
          c->zh, path.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
          [](int, const char*, const void* d) {
            auto* fl = static_cast<Flag*>(const_cast<void*>(d));
            std::lock_guard<std::mutex> lock(fl->mu);
            fl->done = true;
            fl->cv.notify_all();
          },
          f);
      if (call != ZOK) {
        client_side += hex;
      } else {
        std::unique_lock<std::mutex> lock(f->mu);
        f->cv.wait_for(lock, std::chrono::seconds(10), [&] { return f->done; });
        server_side += hex;
      }
    }
  }
  std::printf("  client-side BadArguments for code points: %s\n", client_side.c_str());
  std::printf("  server-side BadArguments for code points: %s\n", server_side.c_str());
  std::printf("  accepted: %s\n", accepted.c_str());
  std::printf("  -- missing parent AND a path only the server rejects --\n");
  CreateWhere(c->zh, "/nope/a\x1f", ZOO_PERSISTENT);
  CreateWhere(c->zh, "/nope/a\xc2\x80", ZOO_PERSISTENT);
  DeleteWhere(c->zh, "/", -1);
  DeleteWhere(c->zh, "/zookeeper", -1);
  DeleteWhere(c->zh, "/zookeeper/quota", -1);
  DeleteWhere(c->zh, "/zookeeper/x", -1);
  DeleteWhere(c->zh, "/a/", -1);
  DeleteWhere(c->zh, "/nope/a\x1f", -1);
  SetData(c->zh, "/", "r");
  GetData(c->zh, "/");
  Delete(c->zh, "/");
  Delete(c->zh, "/", 5);
  SetData(c->zh, "/", "x", 7);
  Delete(c->zh, "");
  Delete(c->zh, "/a/");
  SetData(c->zh, "/a/", "x");
  // Remove whatever the server accepted.
  for (const std::string& p : paths) {
    if (p != "/") zoo_delete(c->zh, p.c_str(), -1);
  }
}

void Precedence(Conn* c, Conn* other) {
  std::printf("\n== 5. error precedence ==\n");
  Create(c->zh, "/q", "", ZOO_PERSISTENT);
  Create(c->zh, "/q/c", "", ZOO_PERSISTENT);
  Delete(c->zh, "/q", 5);  // bad version AND not empty
  Delete(c->zh, "/q", 0);  // right version, not empty
  Delete(c->zh, "/nope", 5);
  SetData(c->zh, "/nope", "x", 5);
  SetData(c->zh, "/q", "x", 5);
  Create(c->zh, "/nope/a", "", ZOO_PERSISTENT);
  Create(c->zh, "/nope/a", "", ZOO_PERSISTENT_SEQUENTIAL);
  Create(c->zh, "/q/c", "", ZOO_EPHEMERAL);
  std::string eph;
  Create(c->zh, "/e", "", ZOO_EPHEMERAL);
  Create(c->zh, "/e/x", "", ZOO_PERSISTENT);
  Create(c->zh, "/e/x", "", ZOO_EPHEMERAL);
  Create(c->zh, "/e/x-", "", ZOO_PERSISTENT_SEQUENTIAL);
  Create(c->zh, "/e", "", ZOO_PERSISTENT);        // exists
  Create(other->zh, "/e/x", "", ZOO_PERSISTENT);  // other session, ephemeral parent
  Stat st{};
  Exists(c->zh, "/e", &st);
  const clientid_t* id = zoo_client_id(c->zh);
  std::printf("  session id of creator = %s, ephemeralOwner = %s\n", Hex(id->client_id).c_str(),
              Hex(st.ephemeralOwner).c_str());
  Delete(other->zh, "/e");  // other session may delete an ephemeral
  Exists(c->zh, "/e");
  Exists(c->zh, "/q", &st);
  std::printf("  persistent ephemeralOwner = %s\n", Hex(st.ephemeralOwner).c_str());
}

void Empties(Conn* c) {
  std::printf("\n== 6. empty and null data, create2 stat ==\n");
  Stat created{};
  Create(c->zh, "/emp", "", ZOO_PERSISTENT, nullptr, &created);
  Stat st{};
  Exists(c->zh, "/emp", &st);
  std::printf("  create2 stat == exists stat: %s\n",
              std::memcmp(&created, &st, sizeof st) == 0 ? "yes" : "no");
  GetData(c->zh, "/emp");
  char buf[1024];
  int rc =
      zoo_create(c->zh, "/nul", nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf, sizeof buf);
  std::printf("create /nul with NULL value -> %s\n", RcName(rc));
  GetData(c->zh, "/nul");
  SetData(c->zh, "/emp", "");
  SetData(c->zh, "/emp", "");
}

void Sizes(const char* host) {
  std::printf("\n== 7. data size limits (default jute.maxbuffer) ==\n");
  Conn* c = Connect(host);
  Create(c->zh, "/big", "", ZOO_PERSISTENT);
  Create(c->zh, "/bige", "", ZOO_EPHEMERAL);
  const int64_t sid = zoo_client_id(c->zh)->client_id;
  auto try_size = [&](size_t n, bool create) {
    std::string data(n, 'x');
    int rc;
    if (create) {
      rc = Create(c->zh, "/bigc", data, ZOO_PERSISTENT, nullptr, nullptr, true);
      std::printf("create /bigc with %zu bytes -> %s\n", n, RcName(rc));
      if (rc == ZOK) zoo_delete(c->zh, "/bigc", -1);
    } else {
      Stat st{};
      rc = zoo_set2(c->zh, "/big", data.data(), static_cast<int>(n), -1, &st);
      std::printf("set_data /big with %zu bytes -> %s", n, RcName(rc));
      if (rc == ZOK) std::printf(" dataLength=%d", st.dataLength);
      std::printf("\n");
    }
    if (rc != ZOK) {
      bool back = WaitConnected(c, 15);
      int erc = Exists(c->zh, "/bige", nullptr, true);
      std::printf("    reconnected=%s same session=%s ephemeral survives=%s state=%d\n",
                  back ? "yes" : "no", zoo_client_id(c->zh)->client_id == sid ? "yes" : "no",
                  erc == ZOK ? "yes" : "no", zoo_state(c->zh));
    }
    return rc;
  };
  for (size_t n : {size_t{1048576 - 1024}, size_t{1048576}, size_t{1048577}, size_t{2 * 1048576}}) {
    try_size(n, false);
  }
  // Largest accepted size for set_data on "/big" (path of 4 characters).
  size_t lo = 1048576 - 4096, hi = 1048576;  // lo accepted, hi rejected
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    std::string data(mid, 'x');
    int rc = zoo_set(c->zh, "/big", data.data(), static_cast<int>(mid), -1);
    if (rc == ZOK) {
      lo = mid;
    } else {
      hi = mid;
      WaitConnected(c, 15);
      zoo_exists(c->zh, "/", 0, nullptr);
    }
  }
  std::printf("largest accepted set_data size on /big: %zu bytes\n", lo);
  size_t clo = 1048576 - 4096, chi = 1048576;
  while (chi - clo > 1) {
    size_t mid = (clo + chi) / 2;
    std::string data(mid, 'x');
    char pbuf[64];
    int rc = zoo_create(c->zh, "/bigc", data.data(), static_cast<int>(mid), &ZOO_OPEN_ACL_UNSAFE,
                        ZOO_PERSISTENT, pbuf, sizeof pbuf);
    if (rc == ZOK) {
      clo = mid;
      zoo_delete(c->zh, "/bigc", -1);
    } else {
      chi = mid;
      WaitConnected(c, 15);
      zoo_exists(c->zh, "/", 0, nullptr);
    }
  }
  std::printf("largest accepted create size on /bigc (open ACL): %zu bytes\n", clo);
  try_size(clo + 1, true);
  // Reading a near-limit node back.
  std::vector<char> buf(2 * 1048576);
  int len = static_cast<int>(buf.size());
  Stat st{};
  int rc = zoo_get(c->zh, "/big", 0, buf.data(), &len, &st);
  std::printf("get_data /big -> %s value_len=%d dataLength=%d\n", RcName(rc), len, st.dataLength);
  zookeeper_close(c->zh);
}

void Watches(const char* host, Conn* c, Conn* other) {
  std::printf("\n== 8. watches ==\n");
  zhandle_t* zh = c->zh;
  Create(zh, "/w", "", ZOO_PERSISTENT);

  std::printf("-- exists watch on missing node, then create (by other session)\n");
  Stat st{};
  int rc = zoo_wexists(zh, "/w/m", LabelWatcher, Label("exists-missing"), &st);
  std::printf("  wexists /w/m -> %s\n", RcName(rc));
  Create(other->zh, "/w/m", "", ZOO_PERSISTENT);
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- get_data on a missing node with watch, then create\n");
  std::vector<char> buf(64);
  int len = 64;
  rc = zoo_wget(zh, "/w/m2", LabelWatcher, Label("get-missing"), buf.data(), &len, &st);
  std::printf("  wget /w/m2 -> %s\n", RcName(rc));
  Create(other->zh, "/w/m2", "", ZOO_PERSISTENT);
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- get_data watch + exists watch (distinct contexts), one set_data\n");
  len = 64;
  zoo_wget(zh, "/w/m", LabelWatcher, Label("get"), buf.data(), &len, &st);
  zoo_wexists(zh, "/w/m", LabelWatcher, Label("exists"), &st);
  SetData(other->zh, "/w/m", "1");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- same watcher+context registered twice via two gets, one set_data\n");
  char* same = Label("same-ctx");
  len = 64;
  zoo_wget(zh, "/w/m", LabelWatcher, same, buf.data(), &len, &st);
  len = 64;
  zoo_wget(zh, "/w/m", LabelWatcher, same, buf.data(), &len, &st);
  SetData(other->zh, "/w/m", "2");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- two get_data watches (distinct contexts), one set_data\n");
  len = 64;
  zoo_wget(zh, "/w/m", LabelWatcher, Label("get1"), buf.data(), &len, &st);
  len = 64;
  zoo_wget(zh, "/w/m", LabelWatcher, Label("get2"), buf.data(), &len, &st);
  SetData(other->zh, "/w/m", "3");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- watch is one-shot: second set_data gives nothing\n");
  SetData(other->zh, "/w/m", "4");
  Barrier(zh);
  PrintAndClearLog();

  std::printf(
      "-- delete node holding child watch + data watch + exists watch; parent child "
      "watch\n");
  Create(zh, "/w/d", "", ZOO_PERSISTENT);
  String_vector v{};
  zoo_wget_children2(zh, "/w/d", LabelWatcher, Label("children-of-d"), &v, &st);
  deallocate_String_vector(&v);
  len = 64;
  zoo_wget(zh, "/w/d", LabelWatcher, Label("get-d"), buf.data(), &len, &st);
  zoo_wexists(zh, "/w/d", LabelWatcher, Label("exists-d"), &st);
  zoo_wget_children2(zh, "/w", LabelWatcher, Label("children-of-w"), &v, &st);
  deallocate_String_vector(&v);
  Delete(other->zh, "/w/d");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- only a child watch on the deleted node\n");
  Create(zh, "/w/d", "", ZOO_PERSISTENT);
  zoo_wget_children2(zh, "/w/d", LabelWatcher, Label("children-of-d-only"), &v, &st);
  deallocate_String_vector(&v);
  Delete(other->zh, "/w/d");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- create child with parent child watch + exists watch on child (order)\n");
  zoo_wget_children2(zh, "/w", LabelWatcher, Label("children-of-w"), &v, &st);
  deallocate_String_vector(&v);
  zoo_wexists(zh, "/w/n", LabelWatcher, Label("exists-n"), &st);
  Create(other->zh, "/w/n", "", ZOO_PERSISTENT);
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- set_data on child does not fire parent child watch\n");
  zoo_wget_children2(zh, "/w", LabelWatcher, Label("children-of-w"), &v, &st);
  deallocate_String_vector(&v);
  SetData(other->zh, "/w/n", "z");
  Barrier(zh);
  PrintAndClearLog();
  std::printf("   (now delete /w/n: the pending child watch fires)\n");
  Delete(other->zh, "/w/n");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- exists watch on existing node, node deleted\n");
  Create(zh, "/w/x", "", ZOO_PERSISTENT);
  zoo_wexists(zh, "/w/x", LabelWatcher, Label("exists-x"), &st);
  Delete(other->zh, "/w/x");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- failed write fires nothing (BadVersion set_data on watched node)\n");
  Create(zh, "/w/y", "", ZOO_PERSISTENT);
  len = 64;
  zoo_wget(zh, "/w/y", LabelWatcher, Label("get-y"), buf.data(), &len, &st);
  SetData(other->zh, "/w/y", "q", 42);
  Barrier(zh);
  PrintAndClearLog();
  std::printf("   (then a successful set)\n");
  SetData(other->zh, "/w/y", "q");
  Barrier(zh);
  PrintAndClearLog();

  std::printf("-- own write: A holds the watch and performs the write (async completion)\n");
  len = 64;
  zoo_wget(zh, "/w/y", LabelWatcher, Label("own-get"), buf.data(), &len, &st);
  zoo_wget_children2(zh, "/w", LabelWatcher, Label("own-children-of-w"), &v, &st);
  deallocate_String_vector(&v);
  rc = zoo_aset(
      zh, "/w/y", "own", 3, -1,
      [](int result, const Stat*, const void*) {
        Log(std::string("completion[own-set] rc=") + RcName(result));
      },
      nullptr);
  rc = zoo_acreate(
      zh, "/w/z", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
      [](int result, const char*, const void*) {
        Log(std::string("completion[own-create] rc=") + RcName(result));
      },
      nullptr);
  Barrier(zh);
  PrintAndClearLog();
  std::printf("-- own write with synchronous zoo_set: is the callback done when it returns?\n");
  int sync_before = 0;
  for (int i = 0; i < 20; ++i) {
    len = 64;
    zoo_wget(zh, "/w/y", LabelWatcher, Label("own-sync"), buf.data(), &len, &st);
    zoo_set(zh, "/w/y", "s", 1, -1);
    {
      std::lock_guard<std::mutex> lock(g_mu);
      if (!g_log.empty()) ++sync_before;
    }
    Barrier(zh);
    TakeLog();
  }
  std::printf("  callback had already run when zoo_set returned: %d of 20 times\n", sync_before);

  std::printf("-- close of a session owning /h/a, /h/b, /h/f (created in that order)\n");
  {
    Conn* h = Connect(host);
    Create(zh, "/h", "", ZOO_PERSISTENT, nullptr, nullptr, true);
    for (const char* p : {"/h/a", "/h/b", "/h/f"}) {
      Create(h->zh, p, "", ZOO_EPHEMERAL, nullptr, nullptr, true);
      zoo_wexists(zh, p, LabelWatcher, Label(std::string("exists-") + p), &st);
    }
    zookeeper_close(h->zh);
    Barrier(zh);
    PrintAndClearLog();
  }
  std::printf("-- close of a session owning 13 ephemerals /h/e00../h/e12\n");
  {
    Conn* h = Connect(host);
    for (int i = 0; i < 13; ++i) {
      char p[32];
      std::snprintf(p, sizeof p, "/h/e%02d", i);
      Create(h->zh, p, "", ZOO_EPHEMERAL, nullptr, nullptr, true);
      zoo_wexists(zh, p, LabelWatcher, Label(p), &st);
    }
    zookeeper_close(h->zh);
    Barrier(zh);
    std::string order;
    for (const std::string& line : TakeLog()) order += line.substr(line.rfind('/')) + " ";
    std::printf("  NodeDeleted order: %s\n", order.c_str());
  }
  std::printf("-- the closing session watches its own ephemeral\n");
  {
    Conn* h = Connect(host);
    Create(h->zh, "/h/own", "", ZOO_EPHEMERAL, nullptr, nullptr, true);
    zoo_wexists(h->zh, "/h/own", LabelWatcher, Label("closing-session-exists-own"), &st);
    zoo_wexists(zh, "/h/own", LabelWatcher, Label("other-session-exists"), &st);
    zookeeper_close(h->zh);
    Barrier(zh);
    PrintAndClearLog();
  }
  std::printf("-- ephemerals deleted by close: events seen by another session, in order\n");
  Conn* e = Connect(host);
  Create(zh, "/w/c", "", ZOO_PERSISTENT);
  for (const char* p : {"/w/c/z", "/w/c/a", "/w/c/m", "/w/c/b"}) {
    Create(e->zh, p, "", ZOO_EPHEMERAL, nullptr, nullptr, true);
    zoo_wexists(zh, p, LabelWatcher, Label(std::string("exists-") + p), &st);
  }
  Create(e->zh, "/w/eph1", "", ZOO_EPHEMERAL, nullptr, nullptr, true);
  zoo_wexists(zh, "/w/eph1", LabelWatcher, Label("exists-/w/eph1"), &st);
  zoo_wget_children2(zh, "/w/c", LabelWatcher, Label("children-of-/w/c"), &v, &st);
  deallocate_String_vector(&v);
  zoo_wget_children2(zh, "/w", LabelWatcher, Label("children-of-/w"), &v, &st);
  deallocate_String_vector(&v);
  Stat before{};
  Exists(zh, "/w/c", &before, true);
  rc = zookeeper_close(e->zh);
  std::printf("  zookeeper_close -> %s\n", RcName(rc));
  Barrier(zh);
  PrintAndClearLog();
  Stat after{};
  Exists(zh, "/w/c", &after, true);
  std::printf(
      "  /w/c before close: cversion=%d pzxid=%s; after: cversion=%d pzxid=%s "
      "numChildren=%d\n",
      before.cversion, Hex(before.pzxid).c_str(), after.cversion, Hex(after.pzxid).c_str(),
      after.numChildren);
  Exists(zh, "/w", &after, true);
  std::printf("  /w after close: pzxid=%s\n", Hex(after.pzxid).c_str());
  Stat next{};
  Create(zh, "/w/after-close", "", ZOO_PERSISTENT, nullptr, &next, true);
  std::printf("  next create czxid=%s\n", Hex(next.czxid).c_str());
}

void SessionZxids(const char* host, Conn* c) {
  std::printf("\n== 9. do session create/close consume zxids? ==\n");
  Stat a{}, b{};
  Create(c->zh, "/z1", "", ZOO_PERSISTENT, nullptr, &a, true);
  Conn* n = Connect(host);
  Create(c->zh, "/z2", "", ZOO_PERSISTENT, nullptr, &b, true);
  std::printf("  czxid before new session %s, after %s\n", Hex(a.czxid).c_str(),
              Hex(b.czxid).c_str());
  zookeeper_close(n->zh);
  Create(c->zh, "/z3", "", ZOO_PERSISTENT, nullptr, &a, true);
  std::printf("  czxid after closing a session without ephemerals %s\n", Hex(a.czxid).c_str());
  Exists(c->zh, "/z1", &a, true);
  zoo_exists(c->zh, "/z1", 0, &b);
  zoo_set(c->zh, "/z1", "x", 1, -1);
  Exists(c->zh, "/z1", &b, true);
  std::printf("  set_data: mzxid %s -> %s, pzxid %s -> %s (pzxid of a leaf stays czxid)\n",
              Hex(a.mzxid).c_str(), Hex(b.mzxid).c_str(), Hex(a.pzxid).c_str(),
              Hex(b.pzxid).c_str());
  // Operations on a closed handle cannot be probed: zookeeper_close frees it.
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
    return 2;
  }
  const char* host = argv[1];
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Conn* c = Connect(host);
  Conn* other = Connect(host);
  std::printf("ZooKeeper C client %s; session a=%s, b=%s; negotiated timeout %d ms\n", ZOO_VERSION,
              Hex(zoo_client_id(c->zh)->client_id).c_str(),
              Hex(zoo_client_id(other->zh)->client_id).c_str(), zoo_recv_timeout(c->zh));
  InitialTree(c);
  ParentCounters(c);
  ReservedZookeeper(c);
  Paths(c);
  Precedence(c, other);
  Empties(c);
  Watches(host, c, other);
  SessionZxids(host, c);
  Sizes(host);
  zookeeper_close(other->zh);
  zookeeper_close(c->zh);
  return 0;
}
