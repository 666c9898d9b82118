// fkemu shell driven by scripts against a real fkemu serve on loopback: the output of every
// command, a watch set by `get -w` and fired by the shell's own `set`, ZooKeeper errors, an
// unreachable server, a request refused at the HTTP level, close and connect.
#include "emulator/shell/shell.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "emulator/server/server.h"
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
                      "get /a\n"
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

  // create, get: the data, then the stat one field a line.
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

  // get -w, then the shell's own set: the event comes first, with the zxid of the write.
  at = find_line(lines, "hello world", at);
  REQUIRE(at != std::string::npos);
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
