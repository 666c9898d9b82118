#include "apps/shell/shell.h"

#include <poll.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/verb.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <variant>
#include <vector>

#include "apps/shell/commands.h"
#include "apps/shell/event_socket.h"
#include "apps/shell/http_client.h"
#include "apps/shell/server_url.h"
#include "core/json/json_text.h"
#include "core/text/base64.h"

// libedit's readline compatibility header; after the C++ headers (it declares C names only).
#include <editline/readline.h>

namespace fkemu {

namespace {

using shell_client::Command;
using shell_client::command_names;
using shell_client::CommandError;
using shell_client::CommandKind;
using shell_client::EventSocket;
using shell_client::help_text;
using shell_client::http_call;
using shell_client::HttpAnswer;
using shell_client::NoCommand;
using shell_client::parse_command_line;
using shell_client::parse_server_url;
using shell_client::ParsedLine;
using shell_client::refusal;
using shell_client::text_of;
using shell_client::Url;
using json = nlohmann::json;
using verb = boost::beast::http::verb;

constexpr auto kCompletionTimeout = std::chrono::seconds(5);

class Shell {
 public:
  Shell(std::ostream& out, bool interactive) : out_(out), interactive_(interactive) {}
  ~Shell() { disconnect(); }
  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  // Opens a session on `u` with its WebSocket; ConnectionLoss, saying why, if it cannot.
  Status connect(const Url& u) {
    url_ = u;
    auto opened = http_call(u, verb::post, "/v1/sessions", "");
    if (!opened.is_ok())
      return Status(Code::ConnectionLoss,
                    "cannot reach " + u.text() + ": " + opened.status().message());
    const HttpAnswer& a = *opened;
    const std::string session = text_of(a.body, "session"), secret = text_of(a.body, "secret");
    if (a.status != 201 || session.empty() || secret.empty())
      return Status(Code::ConnectionLoss,
                    u.text() + " did not open a session (" + refusal(a) + ")");
    auto ws = std::make_unique<EventSocket>();
    if (Status st = ws->open(u, session, secret); !st.is_ok()) {
      // The session is closed again if the server can be reached; if not, it expires.
      (void)http_call(u, verb::delete_, "/v1/sessions/" + session, secret);
      return Status(Code::ConnectionLoss, "cannot open the WebSocket of session " + session +
                                              " on " + u.text() + ": " + st.message());
    }
    session_ = session;
    secret_ = secret;
    ws_ = std::move(ws);
    if (interactive_)
      out_ << "Connected to " << u.text() << ": session " << session_ << ", timeout "
           << text_of(a.body, "timeout_ms") << " ms (help lists the commands)" << std::endl;
    return Status::ok();
  }

  // Closes the session, if there is one; false if the server did not answer. With the
  // connection already lost, it tries quietly.
  bool disconnect() {
    if (!ws_) return true;
    const bool quiet = !ws_->alive();
    ws_->expect_end();  // the server closes a closed session's WebSocket
    const auto closed = http_call(url_, verb::delete_, "/v1/sessions/" + session_, secret_);
    const bool answered = closed.is_ok();
    print_notices();
    ws_.reset();
    session_.clear();
    secret_.clear();
    if (quiet) return answered;
    if (!answered) {
      out_ << "Error: cannot close the session: " << closed.status().message() << "\n";
      failed_ = true;
      return false;
    }
    if (closed->status >= 400) {
      out_ << "Error: cannot close the session: " << refusal(*closed) << "\n";
      failed_ = true;
    }
    return true;
  }

  // Runs one command line; false when the shell should stop.
  bool execute(const std::string& line) {
    print_notices();
    const ParsedLine parsed = parse_command_line(line);
    if (std::holds_alternative<NoCommand>(parsed)) return true;
    ++commands_;
    if (const auto* e = std::get_if<CommandError>(&parsed)) {
      out_ << e->text();
    } else {
      const Command& c = std::get<Command>(parsed);
      if (c.kind == CommandKind::kQuit) return false;
      run_command(c);
    }
    out_.flush();
    return true;
  }

  // Prints the watch events and notices that came, if any.
  void print_notices() {
    if (!ws_) return;
    for (const auto& n : ws_->take_notices())
      if (print_watches_ || !n.watch) out_ << n.text << "\n";
    out_.flush();
  }

  // The same while libedit shows the prompt: over the prompt's line, then the prompt again.
  void print_notices_over_prompt() {
    if (!ws_) return;
    std::vector<std::string> lines;
    for (auto& n : ws_->take_notices())
      if (print_watches_ || !n.watch) lines.push_back(std::move(n.text));
    if (lines.empty()) return;
    out_ << "\r\033[K";
    for (const auto& l : lines) out_ << l << "\n";
    out_.flush();
    rl_set_prompt(prompt().c_str());  // CLOSED if the connection was lost
    rl_forced_update_display();
  }

  int notify_fd() const { return ws_ ? ws_->notify_fd() : -1; }

  std::string prompt() const {
    return "[fkemu: " + url_.host_port() + (ws_ && ws_->alive() ? "(CONNECTED) " : "(CLOSED) ") +
           std::to_string(commands_) + "] ";
  }

  // The children of `path`, for completion (nothing if they cannot be had).
  std::vector<std::string> children(const std::string& path) {
    std::vector<std::string> out;
    if (!ws_) return out;
    auto r = ws_->request({{"op", "get_children"}, {"path", path}}, kCompletionTimeout);
    if (!r.is_ok() || text_of(*r, "kind") != "ok" || !r->contains("children") ||
        !(*r)["children"].is_array())
      return out;
    for (const auto& c : (*r)["children"])
      if (c.is_string()) out.push_back(c.get<std::string>());
    return out;
  }

  bool failed() const { return failed_; }

 private:
  void run_command(const Command& c) {
    switch (c.kind) {
      case CommandKind::kHelp:
        out_ << help_text();
        return;
      case CommandKind::kConnect:
        return connect_command(c.url.value_or(url_));
      case CommandKind::kClose:
        if (!ws_) {
          out_ << "Error: not connected\n";
        } else {
          disconnect();
        }
        return;
      case CommandKind::kPrintWatches:
        // For this shell, across connect, as zkCli's does.
        if (c.print_watches) {
          print_watches_ = *c.print_watches;
        } else {
          out_ << "printwatches is " << (print_watches_ ? "on" : "off") << "\n";
        }
        return;
      case CommandKind::kQuit:
        return;
      default:
        return node_command(c);
    }
  }

  void connect_command(const Url& target) {
    disconnect();
    if (Status st = connect(target); !st.is_ok()) {
      out_ << "Error: " << st.message() << "\n";
      failed_ = true;
    }
  }

  void node_command(const Command& c) {
    if (!ws_) {
      out_ << "Error: not connected (connect [URL] opens a session)\n";
      return;
    }
    const std::string& path = c.path;
    json op{{"path", path}};
    if (c.watch) op["watch"] = true;
    if (c.version != -1) op["version"] = c.version;
    switch (c.kind) {
      case CommandKind::kCreate: {
        op["op"] = "create";
        put_data_field(c.data, "data", "data_b64", op);
        json flags = json::array();
        if (c.ephemeral) flags.push_back("ephemeral");
        if (c.sequential) flags.push_back("sequential");
        if (!flags.empty()) op["flags"] = flags;
        if (auto r = run(op, path)) out_ << "Created " << text_of(*r, "path") << "\n";
        return;
      }
      case CommandKind::kGet:
        op["op"] = "get_data";
        if (auto r = run(op, path)) {
          if (r->contains("data_b64")) {
            out_ << "(base64) " << text_of(*r, "data_b64") << "\n";
          } else {
            out_ << text_of(*r, "data") << "\n";
          }
          if (c.with_stat) print_stat(r->value("stat", json::object()));
        }
        return;
      case CommandKind::kSet:
        op["op"] = "set_data";
        put_data_field(c.data, "data", "data_b64", op);
        if (auto r = run(op, path)) print_stat(r->value("stat", json::object()));
        return;
      case CommandKind::kDelete:
        op["op"] = "delete";
        run(op, path);
        return;
      case CommandKind::kDeleteAll:
        return delete_tree(path);
      case CommandKind::kLs:
        if (c.recursive) return list_tree(path, c.watch);  // -s is ignored, as zkCli does
        op["op"] = "get_children";
        if (auto r = run(op, path)) {
          const auto children = children_of(*r);
          out_ << "[";
          for (size_t i = 0; i < children.size(); ++i) out_ << (i ? ", " : "") << children[i];
          out_ << "]\n";
          if (c.with_stat) print_stat(r->value("stat", json::object()));
        }
        return;
      case CommandKind::kStat:
        op["op"] = "exists";
        if (auto r = run(op, path)) {
          if (!r->contains("stat") || !(*r)["stat"].is_object()) {
            out_ << "Error: NoNode (" << path << ")\n";
          } else {
            print_stat((*r)["stat"]);
          }
        }
        return;
      default:
        return;
    }
  }
  // ls -R, as zkCli 3.8 does it (ZKUtil.visitSubTreeDFS): the node's data is read (with -w,
  // a data watch), then, from the node down, each node's children are listed (with -w, a
  // child watch on each), sorted, their paths printed before the subtree of each is. A node
  // deleted meanwhile is passed over; any other error ends the listing.
  void list_tree(const std::string& root, bool watch) {
    json first{{"op", "get_data"}, {"path", root}};
    if (watch) first["watch"] = true;
    if (!run(first, root)) return;
    out_ << root << "\n";
    std::vector<std::string> pending{root};
    while (!pending.empty()) {
      const std::string node = std::move(pending.back());
      pending.pop_back();
      json op{{"op", "get_children"}, {"path", node}};
      if (watch) op["watch"] = true;
      const auto r = ask(op);
      if (!r) return;
      if (text_of(*r, "kind") != "ok") {
        if (text_of(*r, "error") == "NoNode") continue;
        print_error(*r, node);
        return;
      }
      const std::string prefix = node == "/" ? node : node + "/";
      const auto children = children_of(*r);
      for (const auto& c : children) out_ << prefix << c << "\n";
      for (auto it = children.rbegin(); it != children.rend(); ++it)
        pending.push_back(prefix + *it);
    }
  }

  // deleteall, as zkCli 3.8 does it (ZKUtil.deleteRecursive): the subtree is listed breadth
  // first (an error there deletes nothing), then deleted in the reverse order, so children go
  // before their parent. The API has no multi: the nodes are deleted one at a time (as zkCli's
  // -b 1 would), and the first failure stops it, leaving what was deleted before it deleted.
  void delete_tree(const std::string& root) {
    std::vector<std::string> tree{root};
    for (size_t i = 0; i < tree.size(); ++i) {
      const auto r = run({{"op", "get_children"}, {"path", tree[i]}}, tree[i]);
      if (!r) return;
      const std::string prefix = tree[i] == "/" ? tree[i] : tree[i] + "/";
      for (const auto& c : r->value("children", json::array()))
        tree.push_back(prefix + (c.is_string() ? c.get<std::string>() : json_text(c)));
    }
    for (size_t i = tree.size(); i-- > 0;) {
      if (!run({{"op", "delete"}, {"path", tree[i]}}, tree[i])) {
        out_ << "Failed to delete some node(s) in the subtree!\n";
        return;
      }
    }
  }

  // The children of an answer, sorted as zkCli sorts them.
  static std::vector<std::string> children_of(const json& r) {
    std::vector<std::string> out;
    for (const auto& c : r.value("children", json::array()))
      out.push_back(c.is_string() ? c.get<std::string>() : json_text(c));
    std::sort(out.begin(), out.end());
    return out;
  }

  // Sends an operation; prints the events that came before its answer. Nullopt (and the error
  // printed) if no answer came; otherwise the answer, a ZooKeeper error or not.
  std::optional<json> ask(const json& op) {
    auto r = ws_->request(op);
    print_notices();
    if (!r.is_ok()) {
      out_ << "Error: " << r.status().message() << "\n";
      failed_ = true;
      return std::nullopt;
    }
    if (r->contains("status")) failed_ = true;  // refused at the HTTP level (4xx)
    return std::move(*r);
  }

  // "Error: NoNode (/a)", with the server's message if it gave one.
  void print_error(const json& r, const std::string& path) {
    const std::string message = text_of(r, "message");
    out_ << "Error: " << text_of(r, "error") << " (" << path << ")"
         << (message.empty() ? "" : ": " + message) << "\n";
  }

  // Runs an operation; prints the events that came before its answer, and the error if it
  // failed (nullopt then).
  std::optional<json> run(const json& op, const std::string& path) {
    auto r = ask(op);
    if (!r) return std::nullopt;
    if (text_of(*r, "kind") != "ok") {
      print_error(*r, path);
      return std::nullopt;
    }
    return r;
  }

  // One field a line, as zkCli prints a Stat (zxids and times as the server gives them).
  void print_stat(const json& st) {
    auto num = [&](const char* k) {
      const std::string v = text_of(st, k);
      return v.empty() ? std::string("0") : v;
    };
    const std::string owner = text_of(st, "ephemeralOwner");
    out_ << "cZxid = " << num("czxid") << "\n"
         << "ctime = " << num("ctime") << "\n"
         << "mZxid = " << num("mzxid") << "\n"
         << "mtime = " << num("mtime") << "\n"
         << "pZxid = " << num("pzxid") << "\n"
         << "cversion = " << num("cversion") << "\n"
         << "dataVersion = " << num("version") << "\n"
         << "aclVersion = " << num("aversion") << "\n"
         << "ephemeralOwner = " << (owner.empty() ? "0x0" : owner) << "\n"
         << "dataLength = " << num("dataLength") << "\n"
         << "numChildren = " << num("numChildren") << "\n";
  }

  std::ostream& out_;
  const bool interactive_;
  Url url_;
  std::string session_, secret_;
  std::unique_ptr<EventSocket> ws_;
  int commands_ = 0;
  bool failed_ = false;
  bool print_watches_ = true;
};

// --- the terminal (libedit) ----------------------------------------------------------------

// libedit's callbacks take no context: the one interactive shell of the process.
Shell* g_shell = nullptr;
std::vector<std::string> g_candidates;
size_t g_next_candidate = 0;
std::optional<std::string> g_line;
bool g_eof = false;

void on_line(char* line) {
  if (line == nullptr) {
    g_eof = true;
    return;
  }
  g_line = line;
  std::free(line);
}

char* next_candidate(const char* text, int state) {
  if (state == 0) g_next_candidate = 0;
  const size_t n = std::strlen(text);
  while (g_next_candidate < g_candidates.size()) {
    const std::string& c = g_candidates[g_next_candidate++];
    if (c.compare(0, n, text) == 0) return ::strdup(c.c_str());
  }
  return nullptr;
}

// Command names as the first word; node paths (the children of the parent, asked over the
// API) as a word starting with /.
char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;
  g_candidates.clear();
  const std::string before(rl_line_buffer, static_cast<size_t>(start));
  const std::string word(text);
  if (before.find_first_not_of(" \t") == std::string::npos) {
    g_candidates = command_names();
    rl_completion_append_character = ' ';
  } else if (!word.empty() && word[0] == '/' && g_shell) {
    const size_t slash = word.rfind('/');
    const std::string parent = slash == 0 ? "/" : word.substr(0, slash);
    const std::string prefix = slash == 0 ? "/" : parent + "/";
    for (const auto& c : g_shell->children(parent)) g_candidates.push_back(prefix + c);
    rl_completion_append_character = '\0';
  } else {
    return nullptr;
  }
  return rl_completion_matches(text, next_candidate);
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = ::getpwuid(::getuid());
    if (pw == nullptr) return {};
    home = pw->pw_dir;
  }
  return std::string(home) + "/.fkemu_history";
}

void run_terminal(Shell& sh, std::ostream& out) {
  g_shell = &sh;
  g_eof = false;
  g_line.reset();
  rl_readline_name = "fkemu";
  rl_attempted_completion_function = complete;
  rl_initialize();
  using_history();
  stifle_history(1000);
  const std::string history = history_file();
  if (!history.empty()) read_history(history.c_str());  // best effort: none the first time

  bool running = true;
  rl_callback_handler_install(sh.prompt().c_str(), on_line);
  while (running && !g_eof) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sh.notify_fd(), POLLIN, 0}};
    const nfds_t n = fds[1].fd >= 0 ? 2 : 1;
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 2 && (fds[1].revents & POLLIN)) sh.print_notices_over_prompt();
    if (fds[0].revents & POLLIN) {
      rl_callback_read_char();
    } else if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      g_eof = true;
    }
    if (g_line) {
      const std::string line = std::move(*g_line);
      g_line.reset();
      if (line.find_first_not_of(" \t") != std::string::npos) {
        add_history(line.c_str());
        if (!history.empty()) write_history(history.c_str());
      }
      running = sh.execute(line);
      sh.print_notices();
      if (running) rl_callback_handler_install(sh.prompt().c_str(), on_line);
    }
  }
  if (g_eof) out << std::endl;
  rl_callback_handler_remove();
  g_shell = nullptr;
}

}  // namespace

int run_shell(const std::string& url, std::istream& in, std::ostream& out, std::ostream& err,
              bool interactive) {
  const auto u = parse_server_url(url);
  if (!u.is_ok()) {
    err << "fkemu shell: " << u.status().message() << "\n";
    return 2;
  }
  try {
    Shell sh(out, interactive);
    if (Status st = sh.connect(*u); !st.is_ok()) {
      err << "fkemu shell: " << st.message() << "\n";
      return 1;
    }
    if (interactive) {
      run_terminal(sh, out);
    } else {
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!sh.execute(line)) break;
      }
    }
    sh.disconnect();
    out.flush();
    return sh.failed() ? 1 : 0;
  } catch (const std::exception& e) {
    err << "fkemu shell: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace fkemu
