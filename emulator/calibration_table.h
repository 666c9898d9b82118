// CalibrationTable: measured AWS latency distributions, as quantile tables per component, data size
// and function memory, and a sampler over them.
//
// The table is derived by scripts/calibrate.sh from the raw measurements of the FaaSKeeper paper
// (Copik et al., HPDC'24, artifact spcl/faaskeeper-paper-artifact; see docs/latency-model.md) and
// committed as emulator/calibration/aws-2024.json; aws_2024() is that file, embedded into the
// binary at build time, so the model needs no file at run time.
//
// Each entry holds 101 quantiles q[0..100] (0%, 1%, ..., 100%, in milliseconds) of the samples of
// one (component, size in bytes, memory in MB); memory 0 where the measurement has no function
// memory. quantile_ms() is the inverse CDF: linear between neighbouring quantiles in u, then linear
// in the data size between the two nearest measured sizes at the same u (the nearest size outside
// the measured range). The memory is the one asked for if the component has it, else the nearest
// measured one (the smaller on a tie).
//
// No clock, threads or randomness of its own: sample() draws one number from the Rng it is given.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/clock.h"
#include "core/runtime/rng.h"
#include "core/status.h"

namespace fkemu {

class CalibrationTable {
 public:
  static constexpr int kQuantiles = 101;

  struct Entry {
    size_t size = 0;                     // bytes
    int memory = 0;                      // MB; 0 = no function memory
    size_t samples = 0;                  // how many measurements the quantiles summarise
    std::array<double, kQuantiles> q{};  // milliseconds, non-decreasing
  };

  // Validates a table in the format of emulator/calibration/aws-2024.json; `origin` names it in
  // error messages (load() passes the file name).
  static Result<CalibrationTable> parse(const nlohmann::json& table,
                                        std::string_view origin = "calibration table");
  // Reads and parses a JSON file; errors name the file.
  static Result<CalibrationTable> load(const std::string& path);
  // The table committed as emulator/calibration/aws-2024.json, embedded at build time.
  static const CalibrationTable& aws_2024();

  // Inverse CDF at u in [0, 1], in milliseconds. Errors: unknown component, u outside [0, 1].
  Result<double> quantile_ms(std::string_view component, size_t bytes, int memory_mb,
                             double u) const;
  // One draw of the component's latency, in microseconds (rounded, never negative): u from
  // rng.unit(), then quantile_ms(). The component must be one of components(); an unknown one is a
  // programming error and throws std::invalid_argument with quantile_ms()'s message.
  Duration sample(std::string_view component, size_t bytes, int memory_mb, Rng& rng) const;

  // Component names, sorted.
  std::vector<std::string> components() const;
  bool has(std::string_view component) const;
  // The entries of one component, sorted by memory, then size; empty if unknown.
  const std::vector<Entry>& entries(std::string_view component) const;
  // The memory quantile_ms() uses for a request of memory_mb (exact, else nearest measured);
  // -1 for an unknown component.
  int memory_for(std::string_view component, int memory_mb) const;
  const std::string& study() const { return study_; }

 private:
  std::string study_;
  std::map<std::string, std::vector<Entry>, std::less<>> components_;
};

}  // namespace fkemu
