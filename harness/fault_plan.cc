#include "harness/fault_plan.h"

namespace fkemu {

const std::vector<FaultSiteInfo>& fault_sites() {
  static const std::vector<FaultSiteInfo> sites = {
      {"kill.writer", 0.01, "a writer instance dies at an await point"},
      {"kill.distributor", 0.01, "a distributor instance dies at an await point"},
      {"kill.watch", 0.01, "a watch-function instance dies at an await point"},
      {"kill.heartbeat", 0.01, "a heartbeat instance dies at an await point"},
      {"delay.lock_lifetime", 0.005, "a function instance stalls 8 s, past the 7 s lock lifetime"},
      {"send.retry", 0.1, "a queue send is retried with the same deduplication id"},
      {"deliver.duplicate", 0.1, "the runtime hands one batch to two instances"},
      {"deliver.lost_delete", 0.1, "a finished batch is not deleted and is delivered again"},
      {"clock.skew", 0.25, "a new function instance's clock is off by up to 1 s"},
      {"session.unresponsive", 0.01, "a client stops answering heartbeats and its session expires"},
      {"client.disconnect", 0.01,
       "a client's connection drops for up to 1 s: answers and events wait, pings are lost"},
  };
  return sites;
}

Duration fault_delay_bound(std::string_view site, const DeploymentConfig& c) {
  const Duration backoff = kSecond;  // the writer's longest retry pause
  // The path of an expiry's close: the heartbeat notices, the writer commits, the distributor
  // applies. A dead writer or distributor instance, or a batch not deleted, holds its FIFO group
  // until the visibility timeout; a dead writer's locks outlive it by their lifetime.
  if (site == "kill.writer" || site == "kill.distributor" || site == "deliver.lost_delete")
    return c.visibility_timeout + c.lock_lifetime + backoff;
  if (site == "kill.heartbeat") return 2 * c.heartbeat_period;      // the next tick asks again
  if (site == "delay.lock_lifetime") return 8 * kSecond + backoff;  // it holds its locks 8 s
  // Two instances with one batch contend for locks: the loser backs off.
  if (site == "deliver.duplicate") return backoff;
  // A clock off by up to 1 s misjudges a dead holder's lock age by as much.
  if (site == "clock.skew") return kSecond + backoff;
  // kill.watch, send.retry, session.unresponsive and client.disconnect do not hold a close up.
  return 0;
}

bool is_fault_site(std::string_view name) {
  for (const auto& s : fault_sites())
    if (name == s.name) return true;
  return false;
}

FaultConfig FaultConfig::buggify(Rng& rng) {
  FaultConfig c;
  for (const auto& s : fault_sites())
    if (rng.chance(0.25)) c.fire[s.name] = s.default_probability;
  return c;
}

FaultConfig FaultConfig::from_json(const nlohmann::json& faults) {
  FaultConfig c;
  if (faults.is_object())
    for (const auto& [site, p] : faults.items()) c.fire[site] = p.get<double>();
  return c;
}

FaultPlan::FaultPlan(Executor& ex, FaultConfig config)
    : ex_(ex), replay_(false), config_(std::move(config)) {}

FaultPlan::FaultPlan(Executor& ex, std::vector<InjectedFault> recorded)
    : ex_(ex), replay_(true), recorded_(std::move(recorded)), used_(recorded_.size(), false) {}

bool FaultPlan::fire(std::string_view site) {
  const uint64_t step = ex_.trace().size();
  if (replay_) {
    for (size_t i = 0; i < recorded_.size(); ++i) {
      if (used_[i] || recorded_[i].step != step || recorded_[i].site != site) continue;
      used_[i] = true;
      injected_.push_back(recorded_[i]);
      injected_.back().t = ex_.now();
      return true;
    }
    return false;
  }
  if (injected_.size() >= config_.max_faults) return false;
  auto it = config_.fire.find(site);
  if (it == config_.fire.end() || it->second <= 0) return false;
  if (!ex_.rng().chance(it->second)) return false;
  injected_.push_back(InjectedFault{step, std::string(site), 0, ex_.now()});
  return true;
}

Duration FaultPlan::amount(std::string_view site, Duration bound) {
  // Called right after fire() returned true for the same site.
  if (injected_.empty() || injected_.back().site != site) return 0;
  if (replay_) return injected_.back().amount;
  const auto span = static_cast<uint64_t>(2 * bound + 1);
  injected_.back().amount = static_cast<int64_t>(ex_.rng().below(span)) - bound;
  return injected_.back().amount;
}

size_t FaultPlan::unused() const {
  size_t n = 0;
  for (bool u : used_) n += u ? 0 : 1;
  return n;
}

void FaultPlan::install() {
  ex_.set_fault_injector(this);
  // The function a process is an instance of ("writer#3" -> "writer"); empty if none. It
  // views the process's name, which lives as long as the process.
  auto function_of = [this](const ReadyEntry& e) -> std::string_view {
    const std::string_view name = ex_.process_name(e.pid);
    const size_t hash = name.find('#');
    return hash == std::string_view::npos ? std::string_view() : name.substr(0, hash);
  };
  ex_.set_resume_hook([this, function_of](const ReadyEntry& e) {
    if (e.label == "start") return false;  // an instance dies only at an await point
    const std::string_view fn = function_of(e);
    if (fn.empty()) return false;
    site_.assign("kill.").append(fn);
    return fire(site_);
  });
  ex_.set_delay_hook([this, function_of](const ReadyEntry& e) -> Duration {
    if (e.label == "start" || function_of(e).empty()) return 0;
    return fire("delay.lock_lifetime") ? 8 * kSecond : 0;
  });
}

nlohmann::json faults_to_json(const std::vector<InjectedFault>& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : f)
    out.push_back({{"step", x.step}, {"site", x.site}, {"amount", x.amount}, {"t", x.t}});
  return out;
}

std::vector<InjectedFault> faults_from_json(const nlohmann::json& j) {
  std::vector<InjectedFault> out;
  for (const auto& x : j)
    out.push_back(InjectedFault{x.at("step").get<uint64_t>(), x.at("site").get<std::string>(),
                                x.value("amount", int64_t{0}), x.value("t", Time{0})});
  return out;
}

}  // namespace fkemu
