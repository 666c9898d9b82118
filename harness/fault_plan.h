// FaultPlan: which faults a run injects, BUGGIFY style, and the record of the ones it did.
//
// Random mode: each configured site fires with its probability at each opportunity, drawn
// from the run's Rng, until max_faults faults were injected (so that faults stop and the run
// can show liveness). Replay mode: exactly the recorded faults fire, at the recorded steps.
// Every injected fault is recorded as (step, site, amount); the step is the decision index of
// the run's trace at which it was injected.
//
// install() also decides the faults that happen at resumption points: kill.<function> (the
// instance dies at that await point) and delay.lock_lifetime (it stalls past the lock
// lifetime, 8 s of virtual time).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/deployment.h"
#include "core/runtime/executor.h"
#include "core/runtime/fault_injector.h"

namespace fkemu {

struct InjectedFault {
  uint64_t step = 0;
  std::string site;
  int64_t amount = 0;
  Time t = 0;  // virtual time of the injection (reported; a replay finds it again)
  bool operator==(const InjectedFault&) const = default;
};

struct FaultSiteInfo {
  const char* name;
  double default_probability;  // per opportunity, when switched on by --faults
  const char* effect;
};
const std::vector<FaultSiteInfo>& fault_sites();
bool is_fault_site(std::string_view name);
// How long one fault of `site` can hold up the close of an expired session, at most, in
// deployment `c` (the checker stretches G8's deadline by it): a killed writer or distributor
// instance's or an undeleted batch's messages wait for the visibility timeout (and block their
// FIFO group meanwhile), a dead writer's locks for their lifetime; a dead heartbeat instance
// costs a period; a stalled instance holds its locks 8 s; duplicate deliveries contend for
// locks; a skewed clock misjudges lock ages by up to 1 s. Sites off that path give 0.
Duration fault_delay_bound(std::string_view site, const DeploymentConfig& c);

struct FaultConfig {
  std::map<std::string, double, std::less<>> fire;  // site -> probability per opportunity
  size_t max_faults = 3;
  // BUGGIFY: every known site switched on with probability 0.25 for the run, at its default.
  static FaultConfig buggify(Rng& rng);
  static FaultConfig from_json(const nlohmann::json& faults);  // a scenario's "faults"
};

class FaultPlan final : public FaultInjector {
 public:
  FaultPlan(Executor& ex, FaultConfig config);
  FaultPlan(Executor& ex, std::vector<InjectedFault> recorded);
  void install();

  bool fire(std::string_view site) override;
  Duration amount(std::string_view site, Duration bound) override;
  const std::vector<InjectedFault>& injected() const { return injected_; }
  // Replay mode: recorded faults that never found their step (the run diverged).
  size_t unused() const;

 private:
  Executor& ex_;
  bool replay_;
  FaultConfig config_;
  std::vector<InjectedFault> recorded_;
  std::vector<bool> used_;
  std::vector<InjectedFault> injected_;
  std::string site_;  // the site of a function's instance, built here without an allocation
};

nlohmann::json faults_to_json(const std::vector<InjectedFault>& f);
std::vector<InjectedFault> faults_from_json(const nlohmann::json& j);

}  // namespace fkemu
