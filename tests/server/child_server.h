// fkemu serve as a child process of a test (the build's own binary): its first stderr line names
// the port; the rest of its log stays readable through `log`.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace fkemu {

struct ChildServer {
  pid_t pid = -1;
  uint16_t port = 0;
  FILE* log = nullptr;  // the server's stderr after its first line

  // Sends `signal`, reads the log to its end (if still open), and waits for the child.
  std::string stop(int signal) {
    kill(pid, signal);
    std::string rest;
    if (log) {
      char buf[4096];
      while (fgets(buf, sizeof buf, log)) rest += buf;
      fclose(log);
      log = nullptr;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return rest;
  }
};

// Starts `fkemu serve --listen 127.0.0.1:0 ARGS...`; `max_files` > 0 limits the child's open
// files (soft and hard) to that many.
inline ChildServer start_child_server(const std::vector<std::string>& args, rlim_t max_files = 0) {
  int err[2];
  REQUIRE(pipe(err) == 0);
  const std::string bin = std::string(FKEMU_BINARY_DIR) + "/apps/fkemu";
  std::vector<std::string> words = {bin, "serve", "--listen", "127.0.0.1:0"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (max_files > 0) {
      rlimit rl{max_files, max_files};
      setrlimit(RLIMIT_NOFILE, &rl);
    }
    dup2(err[1], 2);
    close(err[0]);
    close(err[1]);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(err[1]);
  ChildServer c;
  c.pid = pid;
  c.log = fdopen(err[0], "r");
  char line[512] = {0};
  const bool got = fgets(line, sizeof line, c.log) != nullptr;
  INFO("server said: " << line);
  REQUIRE(got);
  const char* at = strstr(line, "127.0.0.1:");
  REQUIRE(at);
  c.port = static_cast<uint16_t>(std::atoi(at + 10));
  REQUIRE(c.port > 0);
  return c;
}

}  // namespace fkemu
