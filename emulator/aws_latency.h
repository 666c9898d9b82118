// AwsLatency: the calibrated latency model ("aws-2024"). Every protocol step is priced by the
// AWS measurement of the reference FaaSKeeper step that does the same job, drawn from the
// CalibrationTable (emulator/calibration_table.h) at the deployment's function memory and the
// step's data size.
//
// The protocol names the step of each service call (Executor::call's `step`: "writer.lock",
// "distributor.exec_update", ...) and the function runtime names the trigger of each function
// ("writer.trigger": the SQS FIFO trigger, measured from the start of the send). prices() is
// the whole mapping, one row per step, with the reason for each; docs/latency-model.md shows
// it. Steps that the reference does inside one measured step are free here (their work is in
// that step's measurement). The few steps fkemu adds for correctness that the reference does
// not have (the second look for late watch registrations, the epoch kept in the system store
// rather than in one instance's memory) are free unless AwsLatencyOptions::extra_steps asks
// for them to be priced by the storage primitive they use. A step that is not in prices() costs
// nothing and is remembered in unknown_steps(), which the tests keep empty for every bundled
// scenario.
//
// No clock, threads or randomness of its own: delay() draws from the run's Rng.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/latency_model.h"
#include "core/status.h"
#include "emulator/calibration_table.h"

namespace fkemu {

struct AwsLatencyOptions {
  int memory_mb = 2048;        // function memory: one the table measured (512, 1024, 2048)
  bool user_store_kv = false;  // reads priced by the key-value store's measurements
  // Price the steps fkemu's protocol adds to the reference's (Price::extra) by the primitives
  // they use. Off by default: predictions are then of FaaSKeeper's algorithm as measured.
  bool extra_steps = false;
};

class AwsLatency final : public LatencyModel {
 public:
  struct Price {
    std::string_view step;
    std::string_view component;  // "" = free
    int bytes = -1;              // -1: the call's size; else this fixed size (e.g. a lock item)
    std::string_view why;
    bool extra = false;  // a step the reference FaaSKeeper does not have: see extra_steps
  };
  // Every priced step, sorted by step name.
  static const std::vector<Price>& prices();

  // Errors: a memory the table has no measurement for, a component prices() needs that the
  // table lacks (both name what is missing). `table` must outlive the model.
  static Result<std::shared_ptr<AwsLatency>> make(const CalibrationTable& table,
                                                  AwsLatencyOptions options = {});

  Duration delay(std::string_view step, size_t bytes, Rng& rng) override;

  const std::set<std::string, std::less<>>& unknown_steps() const { return unknown_; }
  const AwsLatencyOptions& options() const { return options_; }

 private:
  AwsLatency(const CalibrationTable& table, AwsLatencyOptions options)
      : table_(table), options_(options) {}
  const CalibrationTable& table_;
  AwsLatencyOptions options_;
  std::set<std::string, std::less<>> unknown_;
};

// The latency models by name, as scenario configs, `fkemu serve --latency` and
// `PUT /admin/latency` name them: "zero", or "aws-2024" on `table` (the embedded table unless
// another was loaded with --calibration). An unknown name is an error listing the known ones.
Result<std::shared_ptr<LatencyModel>> make_latency_model(std::string_view name,
                                                         AwsLatencyOptions options = {},
                                                         const CalibrationTable* table = nullptr);

}  // namespace fkemu
