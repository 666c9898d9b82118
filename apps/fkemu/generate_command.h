// `fkemu generate`: scenarios drawn from a seed by the workload generator
// (harness/workload_generator.h), printed or written as files.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace fkemu::cli {

struct GenerateArgs {
  uint64_t seed = 1;
  uint64_t count = 1;
  bool comparable = false;  // scenarios diff-zk can run on ZooKeeper
  std::string out;          // a directory; empty: print them
};

CLI::App* add_generate_command(CLI::App& app, GenerateArgs& a);
int generate(const GenerateArgs& a);

}  // namespace fkemu::cli
