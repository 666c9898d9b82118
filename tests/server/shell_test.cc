// fkemu shell driven by scripts against a real fkemu serve on loopback: the output of every
// command, a watch set by `get -w` and fired by the shell's own `set`, ZooKeeper errors, an
// unreachable server, a request refused at the HTTP level, close and connect; the zkCli 3.8
// commands and options `get -s`, `ls -s`, `ls -R`, `deleteall`, `printwatches`, `stat -w`, and
// `sync`, which is refused (output formats compared with zkCli.sh 3.8.0).
#include "apps/shell/shell.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "apps/server/server.h"
#include "tests/server/test_server.h"

using namespace fkemu;

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

Run shell(const std::string& url, const std::string& script) {
  std::istringstream in(script);
  std::ostringstream out, err;
  Run r;
  r.status = run_shell(url, in, out, err, false);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream s(text);
  for (std::string l; std::getline(s, l);) lines.push_back(l);
  return lines;
}

// The index of the first line equal to `line` at or after `from`; npos if none.
size_t find_line(const std::vector<std::string>& lines, const std::string& line, size_t from = 0) {
  for (size_t i = from; i < lines.size(); ++i)
    if (lines[i] == line) return i;
  return std::string::npos;
}

}  // namespace

TEST_CASE("fkemu shell runs a script of commands and prints what zkCli would", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create /a hello\n"
                      "get -s /a\n"
                      "set /a 'hello world' 0\n"
                      "set /a stale 0\n"
                      "create -e -s /a/w- x\n"
                      "ls /a\n"
                      "ls /\n"
                      "# a comment\n"
                      "\n"
                      "stat /a\n"
                      "get -w /a\n"
                      "set /a again\n"
                      "get /nothing\n"
                      "stat /nothing\n"
                      "delete /a\n"
                      "delete /a/w-0000000000 5\n"
                      "delete /a/w-0000000000\n"
                      "delete /a 2\n"
                      "ls /\n"
                      "create relative\n"
                      "frobnicate /a\n"
                      "set /a\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);

  // create, get -s: the data, then the stat one field a line.
  size_t at = find_line(lines, "Created /a");
  REQUIRE(at != std::string::npos);
  REQUIRE(lines.size() > at + 12);
  CHECK(lines[at + 1] == "hello");
  CHECK(std::regex_match(lines[at + 2], std::regex("cZxid = [1-9][0-9]*")));
  CHECK(lines[at + 4] == "mZxid = " + lines[at + 2].substr(8));
  CHECK(lines[at + 7] == "cversion = 0");
  CHECK(lines[at + 8] == "dataVersion = 0");
  CHECK(lines[at + 10] == "ephemeralOwner = 0x0");
  CHECK(lines[at + 11] == "dataLength = 5");
  CHECK(lines[at + 12] == "numChildren = 0");

  // set with the right version prints the new stat; with a stale one, BadVersion.
  at = find_line(lines, "dataVersion = 1", at);
  REQUIRE(at != std::string::npos);
  CHECK(lines[at + 3] == "dataLength = 11");
  CHECK(find_line(lines, "Error: BadVersion (/a)", at) != std::string::npos);

  // An ephemeral sequential child, listed.
  at = find_line(lines, "Created /a/w-0000000000");
  CHECK(at != std::string::npos);
  CHECK(find_line(lines, "[w-0000000000]", at) != std::string::npos);
  CHECK(find_line(lines, "[a, zookeeper]", at) != std::string::npos);

  // stat of /a: its child.
  at = find_line(lines, "numChildren = 1", at);
  CHECK(at != std::string::npos);

  // get -w (the data alone), then the shell's own set: the event comes first, with the zxid of
  // the write.
  at = find_line(lines, "hello world", at);
  REQUIRE(at != std::string::npos);
  REQUIRE(lines.size() > at + 1);
  CHECK(lines[at + 1].rfind("WATCHER::", 0) == 0);
  size_t watcher = std::string::npos;
  for (size_t i = at; i < lines.size(); ++i)
    if (lines[i].rfind("WATCHER::", 0) == 0) {
      watcher = i;
      break;
    }
  REQUIRE(watcher != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_match(lines[watcher], m,
                           std::regex("WATCHER:: event NodeDataChanged path /a zxid ([0-9]+)")));
  REQUIRE(lines.size() > watcher + 11);
  CHECK(lines[watcher + 3] == "mZxid = " + m[1].str());  // the stat of the set that fired it
  CHECK(lines[watcher + 7] == "dataVersion = 2");
  CHECK(lines[watcher + 10] == "dataLength = 5");
  // Exactly one event: the watch is gone after it fired.
  size_t events = 0;
  for (const auto& l : lines) events += l.rfind("WATCHER::", 0) == 0;
  CHECK(events == 1);

  // Errors as zkCli names them, with the path.
  CHECK(find_line(lines, "Error: NoNode (/nothing)", watcher) != std::string::npos);
  CHECK(find_line(lines, "Error: NotEmpty (/a)", watcher) != std::string::npos);
  CHECK(find_line(lines, "Error: BadVersion (/a/w-0000000000)", watcher) != std::string::npos);
  CHECK(find_line(lines, "[zookeeper]", watcher) != std::string::npos);  // /a deleted at version 2
  CHECK(find_line(lines, "Error: BadArguments (relative): path must start with / character") !=
        std::string::npos);
  CHECK(find_line(lines, "Error: unknown command \"frobnicate\" (help lists the commands)") !=
        std::string::npos);
  CHECK(find_line(lines, "Usage: set PATH DATA [VERSION]") != std::string::npos);
}

TEST_CASE("fkemu shell: close, connect, quit; the ephemerals of a closed session go", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create -e /eph\n"
                      "close\n"
                      "get /eph\n"
                      "connect\n"
                      "stat /eph\n"
                      "create /kept\n"
                      "quit\n"
                      "create /never\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  CHECK(lines.at(0) == "Created /eph");
  CHECK(lines.at(1) == "Error: not connected (connect [URL] opens a session)");
  CHECK(lines.at(2) == "Error: NoNode (/eph)");
  CHECK(lines.at(3) == "Created /kept");
  CHECK(lines.size() == 4);  // nothing after quit

  // The next shell sees /kept but not /never.
  const Run again = shell(srv.url(), "ls /\n");
  CHECK(again.status == 0);
  CHECK(again.out == "[kept, zookeeper]\n");
}

TEST_CASE("fkemu shell: an unreachable server, a bad URL, a request refused", "[shell]") {
  // A port nothing listens on: bound, then closed.
  uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(port);
  const Run refused = shell(nowhere, "ls /\n");
  CHECK(refused.status == 1);
  CHECK(refused.err == "fkemu shell: cannot reach " + nowhere + ": connection refused\n");
  CHECK(refused.out.empty());

  const Run bad = shell("ftp://127.0.0.1:21", "ls /\n");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("only http://") != std::string::npos);
  CHECK(shell("127.0.0.1:99999", "").status == 2);

  // Data over the server's 1 MiB limit: refused with 413, the shell's status says so.
  TestServer srv;
  const Run big = shell(srv.url().substr(7),  // HOST:PORT without http:// works too
                        "create /big " + std::string(1024 * 1024 + 1, 'x') + "\nls /\n");
  INFO("out:\n" << big.out.substr(0, 400) << "err:\n" << big.err);
  CHECK(big.status == 1);
  CHECK(big.out.rfind("Error: PayloadTooLarge (/big): data of 1048577 bytes", 0) == 0);
  CHECK(big.out.find("\n[zookeeper]\n") != std::string::npos);  // and the shell went on
}

namespace {

// The lines from `from` on that start with `prefix`.
size_t count_prefixed(const std::vector<std::string>& lines, const std::string& prefix,
                      size_t from = 0) {
  size_t n = 0;
  for (size_t i = from; i < lines.size(); ++i) n += lines[i].rfind(prefix, 0) == 0;
  return n;
}

// The 11 lines of a stat, starting at `at`, have zkCli's names in zkCli's order.
bool is_stat_at(const std::vector<std::string>& lines, size_t at) {
  static const char* names[] = {"cZxid",          "ctime",      "mZxid",       "mtime",
                                "pZxid",          "cversion",   "dataVersion", "aclVersion",
                                "ephemeralOwner", "dataLength", "numChildren"};
  if (lines.size() < at + 11) return false;
  for (size_t i = 0; i < 11; ++i)
    if (lines[at + i].rfind(std::string(names[i]) + " = ", 0) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("fkemu shell: get prints the data alone, get -s adds the stat, as zkCli 3.8", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create /g value\n"
                      "get /g\n"
                      "get -s /g\n"
                      "get -s -w /g\n"
                      "get -ws /g\n"
                      "get -s /nothing\n"
                      "get -x /g\n"
                      "get -s\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1 + 1 + 3 * 12 + 1 + 2 + 1);
  CHECK(lines[0] == "Created /g");
  CHECK(lines[1] == "value");  // get: the data, and nothing else
  for (size_t at : {2, 14, 26}) {
    CHECK(lines[at] == "value");
    CHECK(is_stat_at(lines, at + 1));
    CHECK(lines[at + 10] == "dataLength = 5");
  }
  CHECK(lines[38] == "Error: NoNode (/nothing)");
  CHECK(lines[39] == "Error: unknown option -x");
  CHECK(lines[40] == "Usage: get [-s] [-w] PATH");
  CHECK(lines[41] == "Usage: get [-s] [-w] PATH");
}

TEST_CASE("fkemu shell: ls -s, ls -R and their combinations, as zkCli 3.8", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create /t\n"
                      "create /t/b\n"
                      "create /t/b/c\n"
                      "create /t/a\n"
                      "create /t/a/z\n"
                      "create /t/a/y\n"
                      "ls -s /t\n"
                      "ls -R /t\n"
                      "ls -R /t/a/z\n"
                      "ls -R -s /t/b\n"
                      "ls -sR /t/b\n"
                      "ls -R /nothing\n"
                      "ls -s /nothing\n"
                      "ls -Rx /t\n"
                      "ls -R\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  size_t at = find_line(lines, "Created /t/a/y");
  REQUIRE(at == 5);
  // ls -s: the children, sorted, then the stat of the node.
  REQUIRE(lines.size() > at + 13);
  CHECK(lines[at + 1] == "[a, b]");
  CHECK(is_stat_at(lines, at + 2));
  CHECK(lines[at + 7] == "cversion = 2");
  CHECK(lines[at + 12] == "numChildren = 2");
  at += 13;
  // ls -R: the node, then each node's children before their subtrees (ZKUtil.visitSubTreeDFS).
  const std::vector<std::string> rest(lines.begin() + static_cast<std::ptrdiff_t>(at), lines.end());
  CHECK(rest == std::vector<std::string>{"/t", "/t/a", "/t/b", "/t/a/y", "/t/a/z", "/t/b/c",
                                         "/t/a/z",          // a leaf: itself
                                         "/t/b", "/t/b/c",  // -s is ignored with -R
                                         "/t/b", "/t/b/c", "Error: NoNode (/nothing)",
                                         "Error: NoNode (/nothing)", "Error: unknown option -x",
                                         "Usage: ls [-s] [-w] [-R] PATH",
                                         "Usage: ls [-s] [-w] [-R] PATH"});
}

TEST_CASE("fkemu shell: ls -R / lists the whole tree, and ls -R -w watches all of it", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create /r\n"
                      "create /r/x\n"
                      "ls -R /\n"
                      "ls -R -w /r\n"
                      "create /r/x/y\n"
                      "create /r/w\n"
                      "set /r data\n"
                      "ls -s -w /r/x\n"
                      "create /r/x/v\n"
                      "ls -w -s /r/x\n"
                      "delete /r/x/v\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  // The root: "/" is a prefix of its own, as zkCli writes the paths.
  size_t at = find_line(lines, "/");
  REQUIRE(at != std::string::npos);
  REQUIRE(lines.size() > at + 4);
  CHECK(lines[at + 1] == "/r");
  CHECK(lines[at + 2] == "/zookeeper");
  CHECK(lines[at + 3] == "/r/x");
  // ls -R -w: a data watch on /r, a child watch on /r and on /r/x; each fires once.
  at = find_line(lines, "Created /r/x/y", at);
  REQUIRE(at != std::string::npos);
  CHECK(lines[at - 1].rfind("WATCHER:: event NodeChildrenChanged path /r/x zxid ", 0) == 0);
  at = find_line(lines, "Created /r/w", at);
  REQUIRE(at != std::string::npos);
  CHECK(lines[at - 1].rfind("WATCHER:: event NodeChildrenChanged path /r zxid ", 0) == 0);
  REQUIRE(lines.size() > at + 1);
  CHECK(lines[at + 1].rfind("WATCHER:: event NodeDataChanged path /r zxid ", 0) == 0);
  // ls -s -w and ls -w -s: the children, the stat, and a child watch.
  at = find_line(lines, "[y]", at);
  REQUIRE(at != std::string::npos);
  CHECK(is_stat_at(lines, at + 1));
  REQUIRE(lines.size() > at + 13);
  CHECK(lines[at + 12].rfind("WATCHER:: event NodeChildrenChanged path /r/x zxid ", 0) == 0);
  CHECK(lines[at + 13] == "Created /r/x/v");
  at = find_line(lines, "[v, y]", at);
  REQUIRE(at != std::string::npos);
  CHECK(is_stat_at(lines, at + 1));
  CHECK(lines.size() == at + 13);
  CHECK(lines[at + 12].rfind("WATCHER:: event NodeChildrenChanged path /r/x zxid ", 0) == 0);
  CHECK(count_prefixed(lines, "WATCHER::") == 5);
}

TEST_CASE("fkemu shell: deleteall deletes a subtree, children first, as zkCli 3.8", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "create /d\n"
                      "create /d/a\n"
                      "create /d/a/b\n"
                      "create /d/a/b/c\n"
                      "create /d/e\n"
                      "create /keep\n"
                      "ls -w /d/a\n"
                      "deleteall /d\n"
                      "ls /\n"
                      "deleteall /keep\n"
                      "ls /\n"
                      "deleteall /nothing\n"
                      "deleteall relative\n"
                      "deleteall\n"
                      "deleteall /a /b\n"
                      "create /k\n"
                      "create /k/c\n"
                      "create /k/c/g\n"
                      "deleteall /\n"
                      "ls -R /\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  size_t at = find_line(lines, "[b]");
  REQUIRE(at != std::string::npos);
  REQUIRE(lines.size() > at + 14);
  // The child watch on /d/a fires when /d/a/b is deleted, before /d/a is.
  CHECK(lines[at + 1].rfind("WATCHER:: event NodeChildrenChanged path /d/a zxid ", 0) == 0);
  CHECK(lines[at + 2] == "[keep, zookeeper]");
  CHECK(lines[at + 3] == "[zookeeper]");  // a leaf alone
  CHECK(lines[at + 4] == "Error: NoNode (/nothing)");
  CHECK(lines[at + 5] == "Error: BadArguments (relative): path must start with / character");
  CHECK(lines[at + 6] == "Usage: deleteall PATH");
  CHECK(lines[at + 7] == "Usage: deleteall PATH");
  CHECK(lines[at + 8] == "Created /k");
  CHECK(lines[at + 9] == "Created /k/c");
  CHECK(lines[at + 10] == "Created /k/c/g");
  // deleteall /: listed breadth first (/, /k, /zookeeper, /k/c, /zookeeper/config,
  // /zookeeper/quota, /k/c/g), deleted from the end; /zookeeper/quota cannot be deleted, so it
  // stops there, after /k/c/g.
  CHECK(lines[at + 11] == "Error: BadArguments (/zookeeper/quota)");
  CHECK(lines[at + 12] == "Failed to delete some node(s) in the subtree!");
  const std::vector<std::string> rest(lines.begin() + static_cast<std::ptrdiff_t>(at) + 13,
                                      lines.end());
  CHECK(rest == std::vector<std::string>{"/", "/k", "/zookeeper", "/k/c", "/zookeeper/config",
                                         "/zookeeper/quota"});
}

TEST_CASE("fkemu shell: printwatches on|off hides watch events, as zkCli does", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "printwatches\n"
                      "create /p\n"
                      "get -w /p\n"
                      "printwatches off\n"
                      "printwatches\n"
                      "set /p 1\n"
                      "get -w /p\n"
                      "printwatches on\n"
                      "printwatches\n"
                      "set /p 2\n"
                      "printwatches maybe\n"
                      "printwatches on off\n"
                      "printwatches off\n"
                      "close\n"
                      "connect\n"
                      "printwatches\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 32);
  CHECK(lines[0] == "printwatches is on");
  CHECK(lines[1] == "Created /p");
  CHECK(lines[2] == "");  // get -w /p: the empty data
  CHECK(lines[3] == "printwatches is off");
  CHECK(is_stat_at(lines, 4));  // set /p 1: its stat, without the event it fired
  CHECK(lines[15] == "1");      // get -w /p
  CHECK(lines[16] == "printwatches is on");
  std::smatch m;
  REQUIRE(std::regex_match(lines[17], m,
                           std::regex("WATCHER:: event NodeDataChanged path /p zxid ([0-9]+)")));
  CHECK(is_stat_at(lines, 18));  // set /p 2, which fired it
  CHECK(lines[20] == "mZxid = " + m[1].str());
  CHECK(lines[29] == "Usage: printwatches [on|off]");
  CHECK(lines[30] == "Usage: printwatches [on|off]");
  CHECK(lines[31] == "printwatches is off");  // the setting outlives the session
  CHECK(count_prefixed(lines, "WATCHER::") == 1);
}

TEST_CASE("fkemu shell: sync is refused, stat -w watches, help lists every command", "[shell]") {
  TestServer srv;
  const Run r = shell(srv.url(),
                      "sync /\n"
                      "sync\n"
                      "stat -w /s\n"
                      "create /s\n"
                      "stat -w /s\n"
                      "delete /s\n"
                      "help\n");
  INFO("out:\n" << r.out << "err:\n" << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  const auto lines = lines_of(r.out);
  const std::string no_sync =
      "Error: sync is not supported: FaaSKeeper has no sync: every read is served from the "
      "strongly consistent user store, which a write reaches before it is answered, and a "
      "session's reads come after its own writes";
  REQUIRE(lines.size() > 17);
  CHECK(lines[0] == no_sync);
  CHECK(lines[1] == no_sync);
  CHECK(lines[2] == "Error: NoNode (/s)");
  CHECK(lines[3].rfind("WATCHER:: event NodeCreated path /s zxid ", 0) == 0);
  CHECK(lines[4] == "Created /s");
  CHECK(is_stat_at(lines, 5));
  CHECK(lines[16].rfind("WATCHER:: event NodeDeleted path /s zxid ", 0) == 0);
  CHECK(lines[17] == "Commands:");
  for (const char* usage :
       {"create [-e] [-s] PATH [DATA]", "get [-s] [-w] PATH", "set PATH DATA [VERSION]",
        "delete PATH [VERSION]", "deleteall PATH", "ls [-s] [-w] [-R] PATH", "stat [-w] PATH",
        "printwatches [on|off]", "sync PATH", "close", "connect [URL]", "help", "quit, exit"}) {
    INFO(usage);
    CHECK(count_prefixed(lines, std::string("  ") + usage + " ", 17) == 1);
  }
}
