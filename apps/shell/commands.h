// The shell's command language: a command line read into a typed Command, or into the error and
// usage lines the shell prints instead. zkCli 3.8's commands and options (docs/api.md, "Shell").
//
// Pure: no I/O, no server, no state between calls; any thread may call any of it. What depends
// on the session (being connected, whether a node exists) is the shell's to check, after the
// parse. A Command's fields beyond `kind` hold what its kind takes, the others their defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "apps/shell/server_url.h"
#include "core/status.h"

namespace fkemu::shell_client {

enum class CommandKind {
  kCreate,
  kGet,
  kSet,
  kDelete,
  kDeleteAll,
  kLs,
  kStat,
  kPrintWatches,
  kClose,
  kConnect,
  kHelp,
  kQuit,  // quit or exit
};

struct Command {
  CommandKind kind = CommandKind::kHelp;
  std::string path;                   // the node commands
  std::string data;                   // create (empty if not given), set: the bytes as typed
  int32_t version = -1;               // set, delete: -1 is any version, as in ZooKeeper
  bool ephemeral = false;             // create -e
  bool sequential = false;            // create -s
  bool with_stat = false;             // get -s, ls -s
  bool watch = false;                 // get -w, ls -w, stat -w
  bool recursive = false;             // ls -R
  std::optional<Url> url;             // connect: nullopt is the server of the last session
  std::optional<bool> print_watches;  // printwatches on|off; nullopt asks which it is
};

// Why a line is not a command, as the shell prints it: an "Error: " line if `error` is not
// empty, then a "Usage: " line if `usage` is not.
struct CommandError {
  std::string error;
  std::string usage;

  std::string text() const;  // those lines, each ending in "\n"
};

// A line with nothing to do (blank, or a comment starting with #): the shell does not count it.
struct NoCommand {};

using ParsedLine = std::variant<NoCommand, Command, CommandError>;

// Reads one command line (without its line end).
ParsedLine parse_command_line(const std::string& line);

// Splits a line into words: blanks (spaces, tabs) separate them; within '...' every character
// is itself, within "..." a backslash keeps the next character, and outside quotes a backslash
// keeps the next character (a trailing one is itself). BadArguments naming the quote for an
// unterminated one. Quotes join with what touches them: a"b c"d is one word, "" an empty one.
Result<std::vector<std::string>> split_words(const std::string& line);

// The command names, for completion.
const std::vector<std::string>& command_names();

// What help prints.
const char* help_text();

}  // namespace fkemu::shell_client
