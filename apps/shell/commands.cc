#include "apps/shell/commands.h"

#include <climits>
#include <cstddef>

namespace fkemu::shell_client {

namespace {

// A command on a node: its options (single letters, before the other arguments) and how many
// other arguments it takes.
struct NodeCommandSyntax {
  const char* name;
  CommandKind kind;
  const char* options;
  size_t min_args, max_args;
  const char* usage;
};

constexpr NodeCommandSyntax kNodeCommands[] = {
    {"create", CommandKind::kCreate, "es", 1, 2, "create [-e] [-s] PATH [DATA]"},
    {"get", CommandKind::kGet, "sw", 1, 1, "get [-s] [-w] PATH"},
    {"set", CommandKind::kSet, "", 2, 3, "set PATH DATA [VERSION]"},
    {"delete", CommandKind::kDelete, "", 1, 2, "delete PATH [VERSION]"},
    {"deleteall", CommandKind::kDeleteAll, "", 1, 1, "deleteall PATH"},
    {"ls", CommandKind::kLs, "swR", 1, 1, "ls [-s] [-w] [-R] PATH"},
    {"stat", CommandKind::kStat, "w", 1, 1, "stat [-w] PATH"},
};

// Why `sync` is refused (docs/api.md, "Shell").
const char* kNoSync =
    "FaaSKeeper has no sync: every read is served from the strongly consistent user store, "
    "which a write reaches before it is answered, and a session's reads come after its own "
    "writes";

// A decimal int32: digits with an optional leading '-', nothing else (no '+', no blanks).
bool parse_version(const std::string& s, int32_t& v) {
  if (s.empty() || s.size() > 11 || s.find_first_not_of("-0123456789") != std::string::npos ||
      s.find('-', 1) != std::string::npos || s == "-")
    return false;
  const long long n = std::stoll(s);  // at most 11 characters: no overflow
  if (n < INT32_MIN || n > INT32_MAX) return false;
  v = static_cast<int32_t>(n);
  return true;
}

// The options come first, alone (-s -w) or together (-sw); the first word that is not "-" and
// something else ends them, so a path or data starting with '-' goes after one that does not.
ParsedLine parse_node_command(const NodeCommandSyntax& syntax,
                              const std::vector<std::string>& words) {
  const std::string allowed = syntax.options;
  std::string options;
  size_t i = 1;
  for (; i < words.size() && words[i].size() > 1 && words[i][0] == '-'; ++i)
    for (char f : words[i].substr(1)) {
      if (allowed.find(f) == std::string::npos)
        return CommandError{"unknown option -" + std::string(1, f), syntax.usage};
      options += f;
    }
  const std::vector<std::string> args(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  if (args.size() < syntax.min_args || args.size() > syntax.max_args)
    return CommandError{"", syntax.usage};
  const auto has = [&](char f) { return options.find(f) != std::string::npos; };
  Command c;
  c.kind = syntax.kind;
  c.path = args[0];
  if (syntax.kind == CommandKind::kCreate) {
    c.ephemeral = has('e');
    c.sequential = has('s');
  } else {
    c.with_stat = has('s');
  }
  c.watch = has('w');
  c.recursive = has('R');
  if (syntax.kind == CommandKind::kCreate || syntax.kind == CommandKind::kSet)
    c.data = args.size() > 1 ? args[1] : "";
  const size_t version_at = syntax.kind == CommandKind::kSet ? 2 : 1;
  if ((syntax.kind == CommandKind::kSet || syntax.kind == CommandKind::kDelete) &&
      args.size() > version_at && !parse_version(args[version_at], c.version))
    return CommandError{"the version must be a number, not \"" + args[version_at] + "\"", ""};
  return c;
}

ParsedLine parse_words(const std::vector<std::string>& words) {
  const std::string& name = words[0];
  for (const auto& syntax : kNodeCommands)
    if (name == syntax.name) return parse_node_command(syntax, words);
  Command c;
  if (name == "quit" || name == "exit") {
    c.kind = CommandKind::kQuit;
  } else if (name == "help") {
    c.kind = CommandKind::kHelp;
  } else if (name == "close") {
    if (words.size() != 1) return CommandError{"", "close"};
    c.kind = CommandKind::kClose;
  } else if (name == "connect") {
    if (words.size() > 2) return CommandError{"", "connect [URL]"};
    c.kind = CommandKind::kConnect;
    if (words.size() == 2) {
      auto url = parse_server_url(words[1]);
      if (!url.is_ok()) return CommandError{url.status().message(), ""};
      c.url = std::move(*url);
    }
  } else if (name == "printwatches") {
    // zkCli takes anything but "on" as off; a typo here should not silence the events.
    if (words.size() > 2 || (words.size() == 2 && words[1] != "on" && words[1] != "off"))
      return CommandError{"", "printwatches [on|off]"};
    c.kind = CommandKind::kPrintWatches;
    if (words.size() == 2) c.print_watches = words[1] == "on";
  } else if (name == "sync") {
    return CommandError{std::string("sync is not supported: ") + kNoSync, ""};
  } else {
    return CommandError{"unknown command \"" + name + "\" (help lists the commands)", ""};
  }
  return c;
}

}  // namespace

std::string CommandError::text() const {
  std::string t;
  if (!error.empty()) t += "Error: " + error + "\n";
  if (!usage.empty()) t += "Usage: " + usage + "\n";
  return t;
}

ParsedLine parse_command_line(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line[first] == '#') return NoCommand{};
  auto split = split_words(line);
  if (!split.is_ok()) return CommandError{split.status().message(), ""};
  const std::vector<std::string>& words = *split;
  if (words.empty()) return NoCommand{};  // not reached: a non-blank character makes a word
  return parse_words(words);
}

Result<std::vector<std::string>> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return Status(Code::BadArguments, std::string("unterminated ") + quote + " quote");
  if (in_word) words.push_back(word);
  return words;
}

const std::vector<std::string>& command_names() {
  static const std::vector<std::string> names = {
      "create",       "get",  "set",   "delete",  "deleteall", "ls",   "stat",
      "printwatches", "sync", "close", "connect", "help",      "quit", "exit"};
  return names;
}

const char* help_text() {
  return "Commands:\n"
         "  create [-e] [-s] PATH [DATA]  create a node (-e ephemeral, -s sequential)\n"
         "  get [-s] [-w] PATH            print a node's data (-s: and its stat; -w: watch its "
         "data)\n"
         "  set PATH DATA [VERSION]       set a node's data (only at VERSION, if given)\n"
         "  delete PATH [VERSION]         delete a node (only at VERSION, if given)\n"
         "  deleteall PATH                delete a node and all its descendants, children first\n"
         "  ls [-s] [-w] [-R] PATH        list a node's children (-s: then its stat; -w: watch "
         "them;\n"
         "                                -R: the paths of its whole subtree, one a line)\n"
         "  stat [-w] PATH                print a node's stat if it exists (-w: watch it)\n"
         "  printwatches [on|off]         print watch events or not (alone: which it is)\n"
         "  sync PATH                     not supported: FaaSKeeper has no sync\n"
         "  close                         close the session\n"
         "  connect [URL]                 open a new session (on URL, or the same server)\n"
         "  help                          this list\n"
         "  quit, exit                    close the session and leave\n"
         "Words may be quoted (\"a b\", 'a b'); a line starting with # is a comment.\n";
}

}  // namespace fkemu::shell_client
