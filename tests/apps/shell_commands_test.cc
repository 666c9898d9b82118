// Tests of the shell's command language without a server: every command and option read into
// its typed Command, every refusal with the exact lines the shell prints, the splitting of a
// line into words (blanks, quotes, backslashes), comments, and the server URLs of connect and
// of `fkemu shell URL`. tests/server/shell_test.cc runs the same commands against fkemu serve.
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "apps/shell/commands.h"
#include "apps/shell/server_url.h"

namespace {

using fkemu::shell_client::Command;
using fkemu::shell_client::command_names;
using fkemu::shell_client::CommandError;
using fkemu::shell_client::CommandKind;
using fkemu::shell_client::help_text;
using fkemu::shell_client::NoCommand;
using fkemu::shell_client::parse_command_line;
using fkemu::shell_client::parse_server_url;
using fkemu::shell_client::ParsedLine;
using fkemu::shell_client::split_words;
using fkemu::shell_client::Url;

// The command `line` reads as; fails the test if it is refused or empty.
Command command(const std::string& line) {
  INFO("line: " << line);
  const ParsedLine p = parse_command_line(line);
  if (const auto* e = std::get_if<CommandError>(&p)) FAIL("refused: " << e->text());
  REQUIRE(std::holds_alternative<Command>(p));
  return std::get<Command>(p);
}

// What the shell prints for `line`, which must be refused.
std::string refusal(const std::string& line) {
  INFO("line: " << line);
  const ParsedLine p = parse_command_line(line);
  REQUIRE(std::holds_alternative<CommandError>(p));
  return std::get<CommandError>(p).text();
}

bool is_nothing(const std::string& line) {
  return std::holds_alternative<NoCommand>(parse_command_line(line));
}

std::vector<std::string> words_of(const std::string& line) {
  INFO("line: " << line);
  auto words = split_words(line);
  REQUIRE(words.is_ok());
  return *words;
}

std::string split_error(const std::string& line) {
  INFO("line: " << line);
  const auto words = split_words(line);
  REQUIRE_FALSE(words.is_ok());
  CHECK(words.code() == fkemu::Code::BadArguments);
  return words.status().message();
}

std::string url_error(const std::string& s) {
  INFO("url: " << s);
  const auto u = parse_server_url(s);
  REQUIRE_FALSE(u.is_ok());
  CHECK(u.code() == fkemu::Code::BadArguments);
  return u.status().message();
}

Url url(const std::string& s) {
  INFO("url: " << s);
  const auto u = parse_server_url(s);
  REQUIRE(u.is_ok());
  return *u;
}

const std::string kCreateUsage = "Usage: create [-e] [-s] PATH [DATA]\n";
const std::string kGetUsage = "Usage: get [-s] [-w] PATH\n";
const std::string kSetUsage = "Usage: set PATH DATA [VERSION]\n";
const std::string kDeleteUsage = "Usage: delete PATH [VERSION]\n";
const std::string kDeleteAllUsage = "Usage: deleteall PATH\n";
const std::string kLsUsage = "Usage: ls [-s] [-w] [-R] PATH\n";
const std::string kStatUsage = "Usage: stat [-w] PATH\n";

// The node commands as docs/api.md gives them: the options each takes, and how many arguments
// after them.
struct Syntax {
  const char* name;
  std::string options;
  size_t min_args, max_args;
  const std::string& usage;
};

const Syntax kNodeCommands[] = {
    {"create", "es", 1, 2, kCreateUsage},
    {"get", "sw", 1, 1, kGetUsage},
    {"set", "", 2, 3, kSetUsage},
    {"delete", "", 1, 2, kDeleteUsage},
    {"deleteall", "", 1, 1, kDeleteAllUsage},
    {"ls", "swR", 1, 1, kLsUsage},
    {"stat", "w", 1, 1, kStatUsage},
};

}  // namespace

TEST_CASE("shell commands: blank lines and comments are no command", "[shell]") {
  CHECK(is_nothing(""));
  CHECK(is_nothing(" "));
  CHECK(is_nothing("\t \t"));
  CHECK(is_nothing("#"));
  CHECK(is_nothing("# ls /"));
  CHECK(is_nothing("   \t# create /a"));
  // A # that does not start the line is a word like any other.
  CHECK(refusal("get /a # b") == kGetUsage);
  CHECK(command("ls #").path == "#");
  // A quoted # starts a word, not a comment.
  CHECK(refusal("\"#\"") == "Error: unknown command \"#\" (help lists the commands)\n");
  // An empty quoted word is a command line (an unknown command), not a blank one.
  CHECK(refusal("''") == "Error: unknown command \"\" (help lists the commands)\n");
}

TEST_CASE("shell commands: words are split at blanks, kept whole by quotes and backslashes",
          "[shell]") {
  using W = std::vector<std::string>;
  CHECK(words_of("").empty());
  CHECK(words_of("  \t ").empty());
  CHECK(words_of("ls /") == W{"ls", "/"});
  CHECK(words_of("  ls \t\t /a   ") == W{"ls", "/a"});
  CHECK(words_of("set /a \"x y\"") == W{"set", "/a", "x y"});
  CHECK(words_of("set /a 'x y'") == W{"set", "/a", "x y"});
  // Single quotes keep everything, backslashes and double quotes included.
  CHECK(words_of(R"(set /a 'x\"y\\')") == W{"set", "/a", R"(x\"y\\)"});
  // Within double quotes a backslash keeps the next character, a quote or a backslash.
  CHECK(words_of(R"(set /a "x\"y\\z")") == W{"set", "/a", R"(x"y\z)"});
  CHECK(words_of(R"(set /a "it's")") == W{"set", "/a", "it's"});
  // Outside quotes a backslash keeps the next character, a blank or a quote.
  CHECK(words_of(R"(create /a\ b c\"d)") == W{"create", "/a b", "c\"d"});
  CHECK(words_of("a\\\tb") == W{"a\tb"});
  // A trailing backslash is itself.
  CHECK(words_of("set /a x\\") == W{"set", "/a", "x\\"});
  // Quotes join what touches them; an empty pair is an empty word.
  CHECK(words_of("a\"b c\"d 'e'f") == W{"ab cd", "ef"});
  CHECK(words_of("set /a \"\"") == W{"set", "/a", ""});
  CHECK(words_of("'' ''") == W{"", ""});
  // Only spaces and tabs separate words.
  CHECK(words_of("a\rb\nc") == W{"a\rb\nc"});

  CHECK(split_error("set /a \"x y") == "unterminated \" quote");
  CHECK(split_error("set /a 'x y") == "unterminated ' quote");
  CHECK(split_error("'") == "unterminated ' quote");
  CHECK(split_error(R"(set /a "x\")") == "unterminated \" quote");  // \" is not the end
  CHECK(split_error("\"a\" 'b") == "unterminated ' quote");
  // The parser refuses such a line with the same message, and no usage.
  CHECK(refusal("set /a \"x") == "Error: unterminated \" quote\n");
  CHECK(refusal("'ls /") == "Error: unterminated ' quote\n");
}

TEST_CASE("shell commands: quoted words reach the command whole", "[shell]") {
  const Command q = command("\"ls\" '/a b'");
  CHECK(q.kind == CommandKind::kLs);
  CHECK(q.path == "/a b");
  const Command s = command("set /a 'two words' 3");
  CHECK(s.kind == CommandKind::kSet);
  CHECK(s.data == "two words");
  CHECK(s.version == 3);
  // A quoted option is still an option: quotes only keep words whole.
  CHECK(command("get '-w' /a").watch);
  // Tabs separate as spaces do.
  const Command t = command("get\t-s\t/a");
  CHECK(t.with_stat);
  CHECK(t.path == "/a");
}

TEST_CASE("shell commands: a node command refuses any other option, naming it, then its usage",
          "[shell]") {
  const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-?";
  for (const auto& s : kNodeCommands) {
    for (char f : letters) {
      if (s.options.find(f) != std::string::npos) continue;
      INFO(s.name << " -" << f);
      const std::string flag = std::string("-") + f;
      const std::string expected = "Error: unknown option " + flag + "\n" + s.usage;
      CHECK(refusal(s.name + (" " + flag) + " /a") == expected);
      // Named even when the arguments are wrong too.
      CHECK(refusal(s.name + (" " + flag)) == expected);
      // In a group after a good option, or after a good option of its own.
      if (!s.options.empty()) {
        CHECK(refusal(s.name + (" -" + s.options) + f + " /a") == expected);
        CHECK(refusal(s.name + (" -" + s.options) + " " + flag + " /a") == expected);
      }
    }
  }
}

TEST_CASE("shell commands: a node command takes its number of arguments, else prints its usage",
          "[shell]") {
  for (const auto& s : kNodeCommands) {
    for (const std::string& options : {std::string(), s.options}) {
      for (size_t n = 0; n <= s.max_args + 2; ++n) {
        std::string line = s.name;
        if (!options.empty()) line += " -" + options;
        for (size_t i = 0; i < n; ++i) line += i == 0 ? " /p" : " 1";
        INFO(line);
        if (n < s.min_args || n > s.max_args) {
          CHECK(refusal(line) == s.usage);
        } else {
          CHECK(command(line).path == "/p");
        }
      }
    }
  }
}

TEST_CASE("shell commands: without options, a node command has its path and nothing else",
          "[shell]") {
  const std::pair<const char*, CommandKind> lines[] = {
      {"create /p", CommandKind::kCreate},       {"get /p", CommandKind::kGet},
      {"set /p d", CommandKind::kSet},           {"delete /p", CommandKind::kDelete},
      {"deleteall /p", CommandKind::kDeleteAll}, {"ls /p", CommandKind::kLs},
      {"stat /p", CommandKind::kStat},
  };
  for (const auto& [line, kind] : lines) {
    INFO(line);
    const Command c = command(line);
    CHECK(c.kind == kind);
    CHECK(c.path == "/p");
    CHECK(c.data == (kind == CommandKind::kSet ? "d" : ""));
    CHECK(c.version == -1);
    CHECK_FALSE(c.ephemeral);
    CHECK_FALSE(c.sequential);
    CHECK_FALSE(c.with_stat);
    CHECK_FALSE(c.watch);
    CHECK_FALSE(c.recursive);
    CHECK_FALSE(c.url.has_value());
    CHECK_FALSE(c.print_watches.has_value());
  }
}

TEST_CASE("shell commands: create, its options and data", "[shell]") {
  const Command data = command("create /a/b hello");
  CHECK(data.path == "/a/b");
  CHECK(data.data == "hello");

  const Command e = command("create -e /a x");
  CHECK(e.ephemeral);
  CHECK_FALSE(e.sequential);
  CHECK(e.data == "x");

  const Command s = command("create -s /a");
  CHECK_FALSE(s.ephemeral);
  CHECK(s.sequential);
  CHECK_FALSE(s.with_stat);

  for (const char* line : {"create -e -s /a", "create -s -e /a", "create -es /a", "create -se /a",
                           "create -ee -s /a"}) {
    INFO(line);
    const Command c = command(line);
    CHECK(c.ephemeral);
    CHECK(c.sequential);
    CHECK(c.path == "/a");
  }

  // Options come before the path: after it, "-e" is the data.
  const Command late = command("create /a -e");
  CHECK_FALSE(late.ephemeral);
  CHECK(late.data == "-e");
  // "-" alone is not an option but a word.
  CHECK(command("create -").path == "-");
  CHECK(command("create -e - -s").data == "-s");
  // Bytes that are not UTF-8 are kept as typed (the shell sends them as base64).
  CHECK(command("create /b \xff\xfe").data == "\xff\xfe");

  CHECK(refusal("create -e") == kCreateUsage);
  CHECK(refusal("create -- /a") == "Error: unknown option --\n" + kCreateUsage);
}

TEST_CASE("shell commands: get with -s and -w", "[shell]") {
  const Command s = command("get -s /a");
  CHECK(s.with_stat);
  CHECK_FALSE(s.watch);
  CHECK_FALSE(s.sequential);  // -s of get is the stat

  const Command w = command("get -w /a");
  CHECK(w.watch);
  CHECK_FALSE(w.with_stat);

  for (const char* line : {"get -s -w /a", "get -w -s /a", "get -sw /a", "get -ws /a"}) {
    INFO(line);
    const Command c = command(line);
    CHECK(c.with_stat);
    CHECK(c.watch);
  }

  CHECK(refusal("get -w") == kGetUsage);
  CHECK(refusal("get /a -w") == kGetUsage);  // options after the path are arguments
  CHECK(refusal("get -s -e /a") == "Error: unknown option -e\n" + kGetUsage);
}

TEST_CASE("shell commands: set with data and a version", "[shell]") {
  CHECK(command("set /a '' 0").data.empty());
  CHECK(command("set /a x 0").version == 0);
  CHECK(command("set /a x 7").version == 7);
  CHECK(command("set /a x 007").version == 7);
  CHECK(command("set /a x -1").version == -1);
  CHECK(command("set /a x -0").version == 0);
  CHECK(command("set /a x -5").version == -5);
  CHECK(command("set /a x 2147483647").version == 2147483647);
  CHECK(command("set /a x -2147483648").version == -2147483647 - 1);
  // Data that looks like a version or an option is data.
  CHECK(command("set /a 5").data == "5");
  CHECK(command("set /a -w").data == "-w");

  auto not_a_number = [](const std::string& v) {
    return "Error: the version must be a number, not \"" + v + "\"\n";
  };
  CHECK(refusal("set /a x y") == not_a_number("y"));
  CHECK(refusal("set /a x 2147483648") == not_a_number("2147483648"));
  CHECK(refusal("set /a x -2147483649") == not_a_number("-2147483649"));
  CHECK(refusal("set /a x 99999999999999999999") == not_a_number("99999999999999999999"));
  CHECK(refusal("set /a x +1") == not_a_number("+1"));
  CHECK(refusal("set /a x 1-") == not_a_number("1-"));
  CHECK(refusal("set /a x --1") == not_a_number("--1"));
  CHECK(refusal("set /a x -") == not_a_number("-"));
  CHECK(refusal("set /a x 1.0") == not_a_number("1.0"));
  CHECK(refusal("set /a x 0x10") == not_a_number("0x10"));
  CHECK(refusal("set /a x ''") == not_a_number(""));
  CHECK(refusal("set /a x ' 1'") == not_a_number(" 1"));

  // The version is positional: set has no options, zkCli's -v and -s included.
  CHECK(refusal("set -v 1 /a x") == "Error: unknown option -v\n" + kSetUsage);
  CHECK(refusal("set -s /a x") == "Error: unknown option -s\n" + kSetUsage);
}

TEST_CASE("shell commands: delete with a version, deleteall", "[shell]") {
  CHECK(command("delete /a 3").version == 3);
  CHECK(command("delete /a -1").version == -1);
  CHECK(command("delete /a 2147483647").version == 2147483647);

  CHECK(refusal("delete /a x") == "Error: the version must be a number, not \"x\"\n");
  CHECK(refusal("delete /a 4294967296") ==
        "Error: the version must be a number, not \"4294967296\"\n");
  CHECK(refusal("delete -v 1 /a") == "Error: unknown option -v\n" + kDeleteUsage);
  // Usage comes before the version: a bad version among too many arguments is not named.
  CHECK(refusal("delete /a x y") == kDeleteUsage);

  const Command all = command("deleteall /a/b");
  CHECK(all.kind == CommandKind::kDeleteAll);
  CHECK(all.path == "/a/b");
  CHECK(command("deleteall /").path == "/");
  CHECK(refusal("deleteall /a 1") == kDeleteAllUsage);  // no version
  CHECK(refusal("deleteall -b 1 /a") == "Error: unknown option -b\n" + kDeleteAllUsage);
}

TEST_CASE("shell commands: ls with -s, -w and -R", "[shell]") {
  CHECK(command("ls -s /a").with_stat);
  CHECK(command("ls -w /a").watch);
  const Command r = command("ls -R /a");
  CHECK(r.recursive);
  CHECK_FALSE(r.watch);
  CHECK_FALSE(r.with_stat);

  for (const char* line :
       {"ls -s -w -R /a", "ls -R -w -s /a", "ls -swR /a", "ls -Rws /a", "ls -sw -R /a"}) {
    INFO(line);
    const Command c = command(line);
    CHECK(c.with_stat);  // the shell ignores it with -R, as zkCli does
    CHECK(c.watch);
    CHECK(c.recursive);
    CHECK(c.path == "/a");
  }

  CHECK(refusal("ls -R") == kLsUsage);
  CHECK(refusal("ls -r /") == "Error: unknown option -r\n" + kLsUsage);  // -R only
}

TEST_CASE("shell commands: stat with -w", "[shell]") {
  CHECK(command("stat -w /a").watch);
  CHECK(command("stat -ww /a").watch);

  CHECK(refusal("stat -s /a") == "Error: unknown option -s\n" + kStatUsage);
  CHECK(refusal("stat -wR /a") == "Error: unknown option -R\n" + kStatUsage);
}

TEST_CASE("shell commands: paths go to the server as typed", "[shell]") {
  // The server checks paths (and answers BadArguments): the parser passes any word on.
  for (const char* path :
       {"/", "/a", "/a/b/c", "relative", "/a/", "//a", "/a b", "/zookeeper", "/é", "-"}) {
    INFO(path);
    const std::string quoted = std::string("'") + path + "'";
    CHECK(command("get " + quoted).path == path);
    CHECK(command("stat " + quoted).path == path);
    CHECK(command("deleteall " + quoted).path == path);
  }
}

TEST_CASE("shell commands: printwatches, close, help, quit", "[shell]") {
  const Command ask = command("printwatches");
  CHECK(ask.kind == CommandKind::kPrintWatches);
  CHECK_FALSE(ask.print_watches.has_value());
  CHECK(command("printwatches on").print_watches == std::optional<bool>(true));
  CHECK(command("printwatches off").print_watches == std::optional<bool>(false));
  const std::string usage = "Usage: printwatches [on|off]\n";
  // zkCli takes anything but "on" as off; this shell refuses it.
  CHECK(refusal("printwatches maybe") == usage);
  CHECK(refusal("printwatches ON") == usage);
  CHECK(refusal("printwatches on off") == usage);
  CHECK(refusal("printwatches ''") == usage);

  CHECK(command("close").kind == CommandKind::kClose);
  CHECK(refusal("close now") == "Usage: close\n");

  CHECK(command("help").kind == CommandKind::kHelp);
  CHECK(command("help ls").kind == CommandKind::kHelp);
  CHECK(command("quit").kind == CommandKind::kQuit);
  CHECK(command("exit").kind == CommandKind::kQuit);
  CHECK(command("quit now").kind == CommandKind::kQuit);
}

TEST_CASE("shell commands: connect, alone or with a server URL", "[shell]") {
  const Command same = command("connect");
  CHECK(same.kind == CommandKind::kConnect);
  CHECK_FALSE(same.url.has_value());

  const Command other = command("connect http://127.0.0.1:9000");
  REQUIRE(other.url.has_value());
  CHECK(other.url->host == "127.0.0.1");
  CHECK(other.url->port == "9000");
  CHECK(command("connect localhost").url->port == "8980");

  CHECK(refusal("connect a b") == "Usage: connect [URL]\n");
  CHECK(refusal("connect ftp://h:21") ==
        "Error: not a server URL: \"ftp://h:21\" (only http:// is supported)\n");
  CHECK(refusal("connect h:0") ==
        "Error: not a server URL: \"h:0\" (the port must be a number from 1 to 65535)\n");
  CHECK(refusal("connect http://h/x") ==
        "Error: not a server URL: \"http://h/x\" (expected http://HOST:PORT)\n");
}

TEST_CASE("shell commands: sync is refused, unknown commands are named", "[shell]") {
  const std::string no_sync =
      "Error: sync is not supported: FaaSKeeper has no sync: every read is served from the "
      "strongly consistent user store, which a write reaches before it is answered, and a "
      "session's reads come after its own writes\n";
  CHECK(refusal("sync /a") == no_sync);
  CHECK(refusal("sync") == no_sync);
  CHECK(refusal("frobnicate /a") ==
        "Error: unknown command \"frobnicate\" (help lists the commands)\n");
  // Names are case-sensitive, and not abbreviated.
  CHECK(refusal("LS /") == "Error: unknown command \"LS\" (help lists the commands)\n");
  CHECK(refusal("del /a") == "Error: unknown command \"del\" (help lists the commands)\n");
  CHECK(refusal("-w /a") == "Error: unknown command \"-w\" (help lists the commands)\n");
}

TEST_CASE("shell commands: help lists exactly the completed names, each a command", "[shell]") {
  // The names help lists: the first word of each synopsis ("  ls [-s] ...  list ...", or
  // "  quit, exit  ..."), on the lines that start one.
  std::set<std::string> listed;
  std::istringstream help(help_text());
  std::string line;
  std::getline(help, line);
  CHECK(line == "Commands:");
  while (std::getline(help, line)) {
    if (line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ') continue;
    std::istringstream synopsis(line.substr(2, line.find("  ", 2) - 2));
    std::string word;
    bool first = true;
    while (synopsis >> word) {
      const bool more = !word.empty() && word.back() == ',';
      if (more) word.pop_back();
      if (first) listed.insert(word);
      first = more;
    }
  }
  const std::set<std::string> names(command_names().begin(), command_names().end());
  CHECK(names.size() == command_names().size());
  CHECK(listed == names);
  CHECK(names.count("exit") == 1);
  for (const auto& name : command_names()) {
    INFO(name);
    // Alone, each is a command or refused for its arguments, never unknown.
    const ParsedLine p = parse_command_line(name);
    if (const auto* e = std::get_if<CommandError>(&p))
      CHECK(e->error.find("unknown command") == std::string::npos);
  }
}

TEST_CASE("shell commands: a refusal prints its error line, then its usage line", "[shell]") {
  CHECK(CommandError{"e", "u"}.text() == "Error: e\nUsage: u\n");
  CHECK(CommandError{"e", ""}.text() == "Error: e\n");
  CHECK(CommandError{"", "u"}.text() == "Usage: u\n");
  CHECK(CommandError{}.text().empty());
}

TEST_CASE("shell server URLs: the forms accepted", "[shell]") {
  const Url full = url("http://127.0.0.1:8980");
  CHECK(full.host == "127.0.0.1");
  CHECK(full.port == "8980");
  CHECK(full.host_port() == "127.0.0.1:8980");
  CHECK(full.text() == "http://127.0.0.1:8980");

  CHECK(url("127.0.0.1:9").port == "9");
  CHECK(url("example.org").host == "example.org");
  CHECK(url("example.org").port == "8980");
  CHECK(url("http://example.org/").text() == "http://example.org:8980");
  CHECK(url("HTTP://h:1").host_port() == "h:1");
  CHECK(url("ws://h:65535").port == "65535");
  const Url v6 = url("http://[::1]:8000");
  CHECK(v6.host == "::1");
  CHECK(v6.port == "8000");
  CHECK(v6.host_port() == "[::1]:8000");
  CHECK(v6.text() == "http://[::1]:8000");
  CHECK(url("[fe80::1]").port == "8980");
  CHECK(url("[::1]:80/").port == "80");
}

TEST_CASE("shell server URLs: the forms refused, with the reason", "[shell]") {
  auto expected = [](const std::string& s) {
    return "not a server URL: \"" + s + "\" (expected http://HOST:PORT)";
  };
  auto bad_port = [](const std::string& s) {
    return "not a server URL: \"" + s + "\" (the port must be a number from 1 to 65535)";
  };
  CHECK(url_error("https://h:1") ==
        "not a server URL: \"https://h:1\" (only http:// is supported)");
  CHECK(url_error("ftp://h") == "not a server URL: \"ftp://h\" (only http:// is supported)");
  CHECK(url_error("") == expected(""));
  CHECK(url_error("http://") == expected("http://"));
  CHECK(url_error(":80") == expected(":80"));
  CHECK(url_error("http://h:1/v1") == expected("http://h:1/v1"));
  CHECK(url_error("::1") == expected("::1"));  // IPv6 goes in brackets
  CHECK(url_error("[::1") == expected("[::1"));
  CHECK(url_error("[::1]x") == expected("[::1]x"));
  CHECK(url_error("[]:80") == expected("[]:80"));
  CHECK(url_error("h:") == bad_port("h:"));
  CHECK(url_error("h:0") == bad_port("h:0"));
  CHECK(url_error("h:65536") == bad_port("h:65536"));
  CHECK(url_error("h:123456") == bad_port("h:123456"));
  CHECK(url_error("h:99999999999999999999") == bad_port("h:99999999999999999999"));
  CHECK(url_error("h:-1") == bad_port("h:-1"));
  CHECK(url_error("h:8o") == bad_port("h:8o"));
  CHECK(url_error("[::1]:") == bad_port("[::1]:"));
}
