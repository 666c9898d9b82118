// `fkemu bench predict` (predicted AWS latency of one operation, apps/report/predict.h) and
// `fkemu bench` (the report: the emulator's own speed beside a real ZooKeeper's, and the
// predicted cloud latencies, as text, JSON and an SVG plot). docs/benchmarks.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apps/report/predict.h"
#include "core/status.h"
#include "emulator/calibration_table.h"

namespace fkemu::cli {

// The table --calibration FILE names: null for an empty path (the embedded aws-2024 table);
// an error naming the file if it is missing or malformed.
Result<std::shared_ptr<const CalibrationTable>> load_calibration(const std::string& path);

struct PredictArgs {
  PredictOptions options;
  std::string user_store = "object";  // object | kv
  std::string calibration;            // a table file; empty: the embedded aws-2024 table
  bool json = false;
};
int bench_predict(const PredictArgs& a);

struct ReportArgs {
  std::string json_out = "fkemu-bench.json";  // "" or "-": no file
  std::string plot;                           // an SVG file; empty: no plot
  std::string calibration;
  size_t samples = 1000;  // per predicted configuration
  double seconds = 1.0;   // per measured speed figure
  bool quick = false;     // a short run: fewer samples, sizes and watchers
  bool zookeeper = true;  // also measure a real ZooKeeper on loopback
  bool speed = true;      // the emulator-speed part
  uint64_t seed = 1;
};
int bench_report(const ReportArgs& a);

}  // namespace fkemu::cli
