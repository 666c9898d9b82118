#include "apps/fkemu/serve_command.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "apps/fkemu/bench_command.h"
#include "apps/fkemu/command_util.h"
#include "apps/server/server.h"

namespace fkemu::cli {
namespace {

// A whole number from `min` to `max`, or a message naming the option and the problem.
bool number(const std::string& option, const std::string& text, int64_t min, int64_t max,
            int64_t& out) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE) {
    std::fprintf(stderr, "fkemu serve: %s %s: not a whole number\n", option.c_str(), text.c_str());
    return false;
  }
  if (v < min || v > max) {
    std::fprintf(stderr, "fkemu serve: %s %s: must be from %lld to %lld\n", option.c_str(),
                 text.c_str(), static_cast<long long>(min), static_cast<long long>(max));
    return false;
  }
  out = v;
  return true;
}

}  // namespace

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a) {
  auto* cmd = app.add_subcommand(
      "serve", "Run a FaaSKeeper deployment behind an HTTP/WebSocket API (docs/api.md)");
  cmd->add_option("--listen", a.listen,
                  "Address to bind: HOST:PORT, [IPV6]:PORT, localhost:PORT (port 0: any free "
                  "port)")
      ->capture_default_str();
  cmd->add_option("--zookeeper", a.zookeeper,
                  "Also speak ZooKeeper's client protocol on HOST:PORT (e.g. 127.0.0.1:2181), "
                  "beside the HTTP API, on the same sessions and state "
                  "(docs/zookeeper-protocol.md)");
  cmd->add_option("--zookeeper-super-digest", a.zookeeper_super_digest,
                  "ZooKeeper's super user: super:BASE64(SHA1(super:PASSWORD)), as "
                  "zookeeper.DigestAuthenticationProvider.superDigest; a session that adds "
                  "this digest passes every ACL");
  cmd->add_option("--data", a.data_path,
                  "SQLite file of the services' state, locked while the server runs (:memory: "
                  "keeps nothing)")
      ->capture_default_str();
  cmd->add_flag("--inspect", a.inspect,
                "Print the state of the --data file as JSON and exit (read-only: a server may "
                "be running on it)");
  cmd->add_flag("--no-ttl-nodes", a.no_ttl_nodes,
                "Refuse TTL nodes (Unimplemented) and run no TTL function, as a ZooKeeper "
                "without zookeeper.extendedTypesEnabled, its default");
  cmd->add_option("--session-timeout-ms", a.session_timeout_ms,
                  "Session timeout (at least twice the heartbeat period)")
      ->capture_default_str();
  cmd->add_option("--heartbeat-ms", a.heartbeat_ms, "Heartbeat period")->capture_default_str();
  cmd->add_option("--max-rate", a.max_rate, "Requests per second per connection")
      ->capture_default_str();
  cmd->add_option("--max-connections", a.max_connections,
                  "Connections open at once (0: from the file descriptor limit, at most 10000)")
      ->capture_default_str();
  cmd->add_option("--max-sessions", a.max_sessions,
                  "Sessions held at once (open, or closed and not yet forgotten)")
      ->capture_default_str();
  cmd->add_option("--idle-timeout-s", a.idle_timeout_s, "Close idle HTTP connections after")
      ->capture_default_str();
  cmd->add_option("--admin-token", a.admin_token,
                  "The admin token (default: a random one, written to --admin-token-file)");
  cmd->add_option("--admin-token-file", a.admin_token_file,
                  "Where a random admin token is written, mode 0600 (default: DATA.admin-token; "
                  "printed on stderr for :memory:)");
  cmd->add_flag("--quiet,-q", a.quiet, "No log lines");
  cmd->add_option("--latency", a.latency, "Latency model: zero | aws-2024")->capture_default_str();
  cmd->add_option("--memory", a.memory, "aws-2024: function memory, MB (512 | 1024 | 2048)")
      ->capture_default_str();
  cmd->add_option("--calibration", a.calibration,
                  "aws-2024: a calibration table (default: the embedded one)");
  return cmd;
}

int serve(const ServeArgs& a, const CLI::App& command) {
  ServerOptions o;
  if (Status st = parse_listen(a.listen, o); !st.is_ok()) {
    std::fprintf(stderr, "fkemu serve: %s\n", st.message().c_str());
    return kExitUsage;
  }
  if (!a.zookeeper.empty()) {
    if (Status st = parse_zookeeper_listen(a.zookeeper, o); !st.is_ok()) {
      std::fprintf(stderr, "fkemu serve: %s\n", st.message().c_str());
      return kExitUsage;
    }
  }
  if (!a.zookeeper_super_digest.empty()) {
    const std::string& d = a.zookeeper_super_digest;
    if (d.find(':') == std::string::npos || d.find(':') == 0 || d.back() == ':') {
      std::fprintf(
          stderr,
          "fkemu serve: --zookeeper-super-digest %s: not USER:BASE64(SHA1(USER:PASSWORD))\n",
          d.c_str());
      return kExitUsage;
    }
    o.zookeeper_super_digest = d;
  }
  int64_t timeout_ms = 0, heartbeat_ms = 0, max_rate = 0, idle_s = 0, max_conn = 0, memory = 0,
          max_sessions = 0;
  if (!number("--session-timeout-ms", a.session_timeout_ms, 200, 3600000, timeout_ms) ||
      !number("--heartbeat-ms", a.heartbeat_ms, 50, 600000, heartbeat_ms) ||
      !number("--max-rate", a.max_rate, 1, 1000000000, max_rate) ||
      !number("--idle-timeout-s", a.idle_timeout_s, 1, 86400, idle_s) ||
      !number("--max-connections", a.max_connections, 0, 1000000, max_conn) ||
      !number("--max-sessions", a.max_sessions, 1, 100000000, max_sessions) ||
      !number("--memory", a.memory, 1, 1000000, memory))
    return kExitUsage;
  if (a.latency != "aws-2024")
    for (const char* opt : {"--memory", "--calibration"})
      if (command.count(opt) > 0) {
        std::fprintf(stderr,
                     "fkemu serve: %s applies to the aws-2024 latency model only; add --latency "
                     "aws-2024\n",
                     opt);
        return kExitUsage;
      }
  o.data_path = a.data_path;
  o.config.session_timeout = timeout_ms * kMillisecond;
  o.config.heartbeat_period = heartbeat_ms * kMillisecond;
  o.config.ttl_nodes = !a.no_ttl_nodes;
  if (Status st = check_session_settings(o.config); !st.is_ok()) {
    std::fprintf(stderr, "fkemu serve: %s\n", st.message().c_str());
    return kExitUsage;
  }
  o.max_requests_per_second = static_cast<double>(max_rate);
  o.idle_timeout_ms = static_cast<int>(idle_s * 1000);
  o.max_connections = static_cast<size_t>(max_conn);
  o.max_sessions = static_cast<size_t>(max_sessions);
  o.admin_token = a.admin_token;
  o.admin_token_file = a.admin_token_file;
  o.quiet = a.quiet;
  o.latency_model = a.latency;
  o.latency_options.memory_mb = static_cast<int>(memory);
  if (a.inspect) {
    if (a.data_path == ":memory:") {
      std::fprintf(stderr, "fkemu serve: --inspect reads a --data file; :memory: has none\n");
      return kExitUsage;
    }
    auto dump = Server::inspect(o);
    if (!dump.is_ok()) {
      std::fprintf(stderr, "fkemu serve: %s\n", dump.status().message().c_str());
      return kExitFailed;
    }
    std::cout << *dump << "\n";
    return kExitOk;
  }
  if (a.data_path != ":memory:") {
    const auto dir = std::filesystem::path(a.data_path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::fprintf(stderr, "fkemu serve: --data %s: cannot create %s: %s\n", a.data_path.c_str(),
                   dir.string().c_str(), ec.message().c_str());
      return kExitUsage;
    }
  }
  auto table = load_calibration(a.calibration);
  if (!table.is_ok()) {
    std::fprintf(stderr, "fkemu serve: --calibration: %s\n", table.status().message().c_str());
    return kExitUsage;
  }
  o.calibration = *table;
  if (auto m = make_latency_model(a.latency, o.latency_options, o.calibration.get()); !m.is_ok()) {
    std::fprintf(stderr, "fkemu serve: --latency: %s\n", m.status().message().c_str());
    return kExitUsage;
  }
  Server server(o);
  if (Status st = server.start(); !st.is_ok()) {
    std::fprintf(stderr, "fkemu serve: %s\n", st.message().c_str());
    return kExitFailed;
  }
  server.run();
  return kExitOk;
}

}  // namespace fkemu::cli
