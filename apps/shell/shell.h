// fkemu shell: an interactive client of `fkemu serve` (docs/api.md), in the manner of
// ZooKeeper's zkCli.sh and FaaSKeeper's fkCli.
//
// It opens a session (POST /v1/sessions) and keeps the session's WebSocket open on a
// background thread: the socket carries the operations (so that a watch event always comes
// before the answer that reflects its change), the watch events, and the pongs that keep the
// session alive. Commands: create, get, set, delete, deleteall, ls, stat, printwatches, sync
// (refused: FaaSKeeper has none), close, connect, help, quit.
//
// shell.cc keeps the loop and the glue: commands.h reads a line into a command,
// http_client.h opens and closes sessions, event_socket.h carries the operations and events.
#pragma once

#include <iosfwd>
#include <string>

namespace fkemu {

// Runs the shell against the server at `url` ("http://HOST:PORT", or "HOST:PORT").
// interactive: line editing, history (~/.fkemu_history) and tab completion with libedit on the
// process's terminal (stdin, stdout); `in` is not read then. Otherwise commands are read line
// by line from `in`. Command output goes to `out`, messages about the shell itself to `err`.
// Returns 0; 1 if the server cannot be reached or a command failed at the HTTP level (the
// connection, or a request the server refused); 2 if `url` is not a usable URL.
// Any thread may run a shell that is not interactive, several at once; an interactive one
// uses libedit's state and the terminal, which are the process's: one at a time.
int run_shell(const std::string& url, std::istream& in, std::ostream& out, std::ostream& err,
              bool interactive);

}  // namespace fkemu
