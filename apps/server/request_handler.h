// The API of fkemu serve without its transport: takes a parsed request (an HTTP request, a
// WebSocket upgrade, or a message on a session's WebSocket), checks where it comes from and whose
// it is, routes it to a session operation or an admin endpoint (admin.h), and answers with an
// HTTP status and a JSON body (docs/api.md). It knows nothing of sockets: the HTTP and WebSocket
// sessions (http_session.h, ws_session.h) hand it requests and send what it answers, and the
// fuzz targets drive it with no I/O at all (answer_now() and message_now(), behind
// Server::handle_raw() and handle_ws_raw()).
//
// An answer may come at once or once the deployment has answered; a turn's answers leave after
// the turn's commit (executor_loop.h). Used on the server's I/O thread only, or, with no I/O
// running, on the caller's.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "apps/server/admin.h"
#include "apps/server/api_types.h"
#include "apps/server/server.h"
#include "emulator/operation.h"

namespace fkemu {

class ExecutorLoop;
class SessionRegistry;
struct RemoteSession;

class RequestHandler {
 public:
  RequestHandler(const ServerOptions& options, ExecutorLoop& loop, SessionRegistry& sessions);
  RequestHandler(const RequestHandler&) = delete;
  RequestHandler& operator=(const RequestHandler&) = delete;

  // Set once at start, before anything is served: the server's URL, whether it listens on
  // loopback only, and the admin token.
  void set_listening(std::string url, bool loopback, std::string admin_token);
  // More counters for GET /admin/counters, under `name`.
  void add_counters(std::string name, std::function<nlohmann::json()> source) {
    admin_.add_counters(std::move(name), std::move(source));
  }

  // An HTTP request other than a WebSocket upgrade.
  void handle(const Request& req, const Respond& respond);
  // A WebSocket upgrade: the session whose events it may receive, or null once `refuse` has
  // answered why not.
  std::shared_ptr<RemoteSession> authorize_upgrade(const Request& req, const Respond& refuse);
  // One message on a WebSocket of session r; its answers go to `send` as JSON text.
  void handle_message(RemoteSession& r, const std::string& text,
                      std::function<void(std::string)> send);

  // With no I/O running: handles a request (or a WebSocket message of an open session, opened
  // for it if there is none) and runs the deployment on the calling thread until it has
  // answered. "STATUS BODY" for a request, the answer's text (or "") for a message. For fuzzing.
  std::string answer_now(const Request& req);
  std::string message_now(const std::string& text);

 private:
  void open_session(const Request& req, const Respond& respond);
  void handle_session(const Request& req, const std::string& path, std::string_view query,
                      const Respond& respond);
  void run_op(RemoteSession& r, const Step& step, std::function<void(nlohmann::json)> done);
  std::optional<Step> parse_op(const RemoteSession& r, const nlohmann::json& body,
                               const Respond& respond) const;
  bool refuse_foreign(const Request& req, const Respond& respond) const;
  bool check_secret(const Request& req, const std::string& id, const std::string& expected,
                    std::string_view query, const Respond& respond) const;
  std::shared_ptr<RemoteSession> authorize(const Request& req, const std::string& id,
                                           std::string_view query, const Respond& respond);
  bool answer_forgotten(const Request& req, const std::string& id, const std::string& sub,
                        std::string_view query, const Respond& respond) const;

  ServerOptions opt_;
  ExecutorLoop& loop_;
  SessionRegistry& sessions_;
  Admin admin_;
  std::string url_ = "http://127.0.0.1:8980";  // the listener's, once started
  bool loopback_ = true;
};

}  // namespace fkemu
