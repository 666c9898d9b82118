#ifdef FKEMU_HAVE_ZOOKEEPER
#include "apps/fkemu/diff_zk_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/fkemu/command_util.h"
#include "harness/history_diff.h"
#include "harness/model_runner.h"
#include "harness/scenario.h"
#include "harness/scenario_runner.h"
#include "harness/scenario_shrink.h"
#include "harness/workload_generator.h"
#include "harness/zookeeper_runner.h"
#include "harness/zookeeper_server.h"

namespace fkemu::cli {
namespace {

using json = nlohmann::json;

// What one scenario showed: ZooKeeper's history against fkemu's and against the model's.
struct Comparison {
  std::vector<std::string> fkemu;  // differences, empty when identical
  std::vector<std::string> model;
  std::vector<json> zk_history, fkemu_history, model_history;
  bool same() const { return fkemu.empty() && model.empty(); }
};

Comparison compare(const Scenario& sc, const std::string& host_port, uint64_t seed) {
  Comparison c;
  auto zk = zkref::run_scenario_on_zookeeper(sc, host_port);
  c.zk_history = zk.history;
  RunOptions opt;
  opt.seed = seed;
  c.fkemu_history = run_scenario(sc, opt).history;
  auto model = run_scenario_on_model(sc);
  if (!zk.status.is_ok()) {
    c.fkemu.push_back("ZooKeeper run failed: " + zk.status.message());
    c.model.push_back("ZooKeeper run failed: " + zk.status.message());
    return c;
  }
  c.fkemu = zkref::diff_histories(zk.history, c.fkemu_history);
  if (model.is_ok()) {
    c.model_history = *model;
    c.model = zkref::diff_histories(zk.history, *model);
  } else {
    c.model.push_back("the model cannot run it: " + model.status().message());
  }
  return c;
}

void print_differences(const std::string& who, const std::vector<std::string>& diffs) {
  for (const auto& d : diffs) std::printf("      %s: %s\n", who.c_str(), d.c_str());
}

int diff_files(const DiffZkArgs& a) {
  std::vector<std::string> files;
  for (const auto& in : a.inputs) {
    auto f = scenario_files(in);
    if (!f.is_ok()) {
      std::cerr << "fkemu: " << f.status().message() << "\n";
      return 2;
    }
    files.insert(files.end(), f->begin(), f->end());
  }
  int same = 0, different = 0, skipped = 0;
  json report = json::array();
  for (const auto& f : files) {
    auto sc = load_scenario(f);
    if (!sc.is_ok()) {
      std::cerr << "fkemu: " << sc.status().message() << "\n";
      return 2;
    }
    if (const Status why = zkref::scenario_comparable_with_zookeeper(*sc); !why.is_ok()) {
      // Not for ZooKeeper (an add_watch, which its C client lacks; a container, which it
      // deletes a minute later): fkemu is still compared with the model, when it can run it.
      auto model = run_scenario_on_model(*sc);
      if (!model.is_ok()) {
        if (!a.json) std::printf("  %-32s skipped: %s\n", sc->name.c_str(), why.message().c_str());
        ++skipped;
        continue;
      }
      RunOptions opt;
      opt.seed = a.seed;
      const std::vector<json> mine = run_scenario(*sc, opt).history;
      const std::vector<std::string> d = zkref::diff_histories(*model, mine);
      if (d.empty()) {
        ++same;
        if (!a.json)
          std::printf("  %-32s identical to the model; ZooKeeper skipped (%s)\n", sc->name.c_str(),
                      why.message().c_str());
        continue;
      }
      ++different;
      for (const auto& x : d)
        report.push_back({{"scenario_file", f}, {"against", "fkemu-vs-model"}, {"difference", x}});
      if (a.json) continue;
      std::printf(
          "  %-32s %zu difference%s between fkemu and the model (\"zookeeper\" below is "
          "the model); ZooKeeper skipped (%s)\n",
          sc->name.c_str(), d.size(), d.size() == 1 ? "" : "s", why.message().c_str());
      print_differences("fkemu", d);
      if (a.show)
        std::printf("    model:\n%s    fkemu:\n%s", history_to_jsonl(*model).c_str(),
                    history_to_jsonl(mine).c_str());
      continue;
    }
    // A fresh server per scenario: sequence counters and cversions must not leak between them.
    auto server = zkref::ZooKeeperServer::start();
    if (!server.is_ok()) {
      std::cerr << "fkemu diff-zk: cannot start ZooKeeper: " << server.status().message() << "\n";
      return 2;
    }
    const Comparison c = compare(*sc, (*server)->host_port(), a.seed);
    if (c.same()) {
      ++same;
      if (!a.json)
        std::printf("  %-32s identical (%zu events)\n", sc->name.c_str(), c.fkemu_history.size());
      continue;
    }
    ++different;
    for (const auto& d : c.fkemu)
      report.push_back({{"scenario_file", f}, {"against", "fkemu"}, {"difference", d}});
    for (const auto& d : c.model)
      report.push_back({{"scenario_file", f}, {"against", "model"}, {"difference", d}});
    if (a.json) continue;
    std::printf("  %-32s %zu difference%s\n", sc->name.c_str(), c.fkemu.size() + c.model.size(),
                c.fkemu.size() + c.model.size() == 1 ? "" : "s");
    print_differences("fkemu", c.fkemu);
    print_differences("model", c.model);
    if (a.show)
      std::printf("    zookeeper:\n%s    fkemu:\n%s    model:\n%s",
                  history_to_jsonl(c.zk_history).c_str(), history_to_jsonl(c.fkemu_history).c_str(),
                  history_to_jsonl(c.model_history).c_str());
  }
  if (a.json) {
    std::cout << json{{"scenarios", same + different},
                      {"identical", same},
                      {"not_comparable", skipped},
                      {"different", report}}
                     .dump(1)
              << "\n";
  } else {
    std::printf("\ndiff-zk: %d identical, %d different, %d not comparable\n", same, different,
                skipped);
  }
  return different ? 1 : 0;
}

int diff_generated(const DiffZkArgs& a) {
  auto server = zkref::ZooKeeperServer::start();
  if (!server.is_ok()) {
    std::cerr << "fkemu diff-zk: cannot start ZooKeeper: " << server.status().message() << "\n";
    return 2;
  }
  const std::string host_port = (*server)->host_port();
  std::filesystem::create_directories(a.out_dir);
  // Each run starts from an empty tree. (A chroot per run would be simpler, but ZooKeeper
  // deletes a closing session's ephemerals in the hash order of their full server-side paths:
  // a chroot prefix changes the order.)
  auto fresh_root = [&]() -> std::string {
    if (const Status cleared = zkref::clear_zookeeper_tree(host_port); !cleared.is_ok()) {
      std::cerr << "fkemu diff-zk: " << cleared.message() << "\n";
      return {};
    }
    return host_port;
  };
  GeneratorOptions go;
  go.comparable = true;
  const auto start = std::chrono::steady_clock::now();
  uint64_t identical = 0;
  json different = json::array();
  for (uint64_t i = 0; i < a.generate; ++i) {
    const Scenario sc = generate_scenario(generated_scenario_seed(a.seed, i), go);
    const std::string where = fresh_root();
    if (where.empty()) return 2;
    const Comparison c = compare(sc, where, a.seed);
    if (c.same()) {
      ++identical;
    } else {
      for (const char* against : {"fkemu", "model"}) {
        const bool fk = std::string(against) == "fkemu";
        const std::vector<std::string>& diffs = fk ? c.fkemu : c.model;
        if (diffs.empty()) continue;
        // The smallest scenario that still differs, against the same implementation.
        Comparison last = c;
        auto shrunk = shrink_scenario(
            sc,
            [&](const Scenario& candidate) {
              const std::string w = fresh_root();
              if (w.empty()) return false;
              Comparison k = compare(candidate, w, a.seed);
              if ((fk ? k.fkemu : k.model).empty()) return false;
              last = std::move(k);
              return true;
            },
            200);
        const std::vector<std::string>& shown = fk ? last.fkemu : last.model;
        const std::string file =
            (std::filesystem::path(a.out_dir) / (sc.name + "-" + against + ".diff.json")).string();
        if (!write_text_file(file, shrunk.scenario.source.dump(1) + "\n"))
          std::fprintf(stderr, "fkemu diff-zk: cannot write %s\n", file.c_str());
        different.push_back({{"scenario_file", file},
                             {"against", against},
                             {"difference", shown.front()},
                             {"differences", shown},
                             {"steps", shrunk.steps_after},
                             {"steps_before", shrunk.steps_before}});
        if (!a.json) {
          std::printf("  %s: %zu difference%s against %s; shrunk to %zu steps: %s\n",
                      sc.name.c_str(), diffs.size(), diffs.size() == 1 ? "" : "s", against,
                      shrunk.steps_after, file.c_str());
          for (const auto& d : shown) std::printf("      %s\n", d.c_str());
          if (a.show)
            std::printf("    zookeeper:\n%s    %s:\n%s", history_to_jsonl(last.zk_history).c_str(),
                        against,
                        history_to_jsonl(fk ? last.fkemu_history : last.model_history).c_str());
        }
      }
    }
    if (!a.json && (i + 1) % 50 == 0)
      std::fprintf(
          stderr, "  %llu/%llu scenarios, %llu identical\n", static_cast<unsigned long long>(i + 1),
          static_cast<unsigned long long>(a.generate), static_cast<unsigned long long>(identical));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.json) {
    std::cout << json{{"scenarios", a.generate},
                      {"identical", identical},
                      {"seed", a.seed},
                      {"seconds", seconds},
                      {"different", different}}
                     .dump(1)
              << "\n";
  } else {
    std::printf(
        "\ndiff-zk: %llu generated scenarios (seed %llu) in %.1f s: %llu identical on "
        "ZooKeeper, fkemu and the model, %zu differences\n",
        static_cast<unsigned long long>(a.generate), static_cast<unsigned long long>(a.seed),
        seconds, static_cast<unsigned long long>(identical), different.size());
  }
  return different.empty() ? 0 : 1;
}

}  // namespace

int diff_zk(const DiffZkArgs& a) {
  if (a.inputs.empty() && a.generate == 0) {
    std::cerr << "fkemu diff-zk: give scenario files or directories, or --generate N\n";
    return 2;
  }
  int rc = 0;
  if (!a.inputs.empty()) rc = diff_files(a);
  if (rc == 2) return rc;
  if (a.generate > 0) rc = std::max(rc, diff_generated(a));
  return rc;
}

}  // namespace fkemu::cli
#endif  // FKEMU_HAVE_ZOOKEEPER
