#include "apps/fkemu/generate_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/fkemu/command_util.h"
#include "harness/workload_generator.h"

namespace fkemu::cli {

CLI::App* add_generate_command(CLI::App& app, GenerateArgs& a) {
  auto* cmd = app.add_subcommand(
      "generate", "Draw scenarios from a seed with the workload generator; print or write them");
  cmd->add_option("--seed", a.seed, "Seed (the same as explore --generate's)")
      ->capture_default_str();
  cmd->add_option("--count", a.count, "How many")->capture_default_str();
  cmd->add_flag("--comparable", a.comparable,
                "Scenarios diff-zk can run on ZooKeeper (as diff-zk --generate draws them)");
  cmd->add_option("--out", a.out, "Write NAME.json files here (default: print them)");
  return cmd;
}

int generate(const GenerateArgs& a) {
  GeneratorOptions o;
  o.comparable = a.comparable;
  if (!a.out.empty()) std::filesystem::create_directories(a.out);
  for (uint64_t i = 0; i < a.count; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(a.seed, i), o);
    if (a.out.empty()) {
      std::printf("%s\n", sc.source.dump(1).c_str());
      continue;
    }
    const std::string file = (std::filesystem::path(a.out) / (sc.name + ".json")).string();
    if (!write_text_file(file, sc.source.dump(1) + "\n")) {
      std::cerr << "fkemu generate: cannot write " << file << "\n";
      return kExitUsage;
    }
  }
  if (!a.out.empty())
    std::printf("fkemu generate: %llu scenarios in %s\n", static_cast<unsigned long long>(a.count),
                a.out.c_str());
  return kExitOk;
}

}  // namespace fkemu::cli
