// Predicted cloud latency: a synchronous client loop over a whole in-process deployment whose
// latency model is the calibrated aws-2024 model (emulator/aws_latency.h), measured in virtual
// time. `fkemu bench predict` and the `fkemu bench` report print what this computes.
//
//   * set_data: one session writes one node of `size` bytes, one write after the other, as the
//     study's benchmark client did; a sample is the time from the call to its answer.
//   * get_data: the same session reads the node; a sample is one read.
//   * watch: `watchers` sessions each set a data watch on the node, then another session
//     writes it; a sample is the time from that set_data call to one watcher's callback. Rounds
//     repeat (watches are one-shot) until `samples` callbacks were seen.
//
// Deterministic: the same options and seed give the same samples.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "emulator/calibration_table.h"

namespace fkemu {

struct PredictOptions {
  std::string op = "set_data";  // set_data | get_data | watch
  size_t size = 4;              // node data, bytes
  int memory_mb = 2048;
  size_t watchers = 1;  // watch only
  size_t samples = 1000;
  uint64_t seed = 1;
  bool user_store_kv = false;
  bool extra_steps = false;                 // AwsLatencyOptions::extra_steps
  const CalibrationTable* table = nullptr;  // null: the embedded aws-2024 table
};

struct Prediction {
  PredictOptions options;
  std::vector<double> samples_ms;  // in the order measured
  // watch only: per round, the latency of the slowest watcher (the last callback)
  std::vector<double> last_watcher_ms;
  double quantile_ms(double q) const;  // linear between order statistics, q in [0, 1]
  // {"op","size","memory_mb",("watchers"),"samples","seed","model","p50_ms","p90_ms",
  //  "p95_ms","p99_ms","mean_ms","min_ms","max_ms"(,"last_watcher_p50_ms", ...)}
  nlohmann::json to_json() const;
};

// Errors name the bad option: an unknown op, size over 1 MiB, samples 0 or over 1,000,000,
// watchers 0 or over 100,000, a memory the table did not measure.
Result<Prediction> predict(const PredictOptions& options);

// Quantile of a sample (linear between order statistics), q in [0, 1]; 0 for no samples.
double sample_quantile(std::vector<double> values, double q);

}  // namespace fkemu
