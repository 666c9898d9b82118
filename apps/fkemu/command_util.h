// What the fkemu subcommands share: the exit statuses and the handling of their file arguments.
#pragma once

#include <string>
#include <vector>

namespace fkemu::cli {

// Exit status: 0 success, 1 an expectation or guarantee failed, 2 bad usage or unreadable input.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The scenario files that `inputs` (files, or directories of *.json) name, appended to `files`;
// false after printing, for the first input that names none, why.
bool collect_scenario_files(const std::vector<std::string>& inputs,
                            std::vector<std::string>& files);
// Writes `text` to `path` (binary); false if it cannot be written.
[[nodiscard]] bool write_text_file(const std::string& path, const std::string& text);

}  // namespace fkemu::cli
