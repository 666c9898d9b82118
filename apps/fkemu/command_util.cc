#include "apps/fkemu/command_util.h"

#include <fstream>
#include <iostream>

#include "harness/scenario.h"

namespace fkemu::cli {

bool collect_scenario_files(const std::vector<std::string>& inputs,
                            std::vector<std::string>& files) {
  for (const auto& in : inputs) {
    auto f = scenario_files(in);
    if (!f.is_ok()) {
      std::cerr << "fkemu: " << f.status().message() << "\n";
      return false;
    }
    files.insert(files.end(), f->begin(), f->end());
  }
  return true;
}

bool write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace fkemu::cli
