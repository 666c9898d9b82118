// `fkemu serve`: a FaaSKeeper deployment behind the HTTP and WebSocket API of docs/api.md.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace fkemu::cli {

struct ServeArgs {
  std::string listen = "127.0.0.1:8980";
  std::string zookeeper;               // HOST:PORT of the ZooKeeper listener; empty: none
  std::string zookeeper_super_digest;  // super:BASE64(SHA1(super:PASSWORD)); empty: none
  std::string data_path = "fkemu-data/state.db";
  // Numbers are taken as text and checked here, so that "abc" is named as not a number.
  std::string session_timeout_ms = "10000";
  std::string heartbeat_ms = "2000";
  std::string max_rate = "200000";
  std::string idle_timeout_s = "60";
  std::string max_connections = "0";
  std::string max_sessions = "100000";
  std::string admin_token, admin_token_file;
  bool inspect = false;
  bool no_ttl_nodes = false;
  bool quiet = false;
  std::string latency = "zero";
  std::string memory = "2048";
  std::string calibration;
};

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a);
int serve(const ServeArgs& a, const CLI::App& command);

}  // namespace fkemu::cli
