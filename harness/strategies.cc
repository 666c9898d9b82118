#include "harness/strategies.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace fkemu {

std::vector<RecordedChoice> recorded_choices(const std::vector<Decision>& decisions) {
  std::vector<RecordedChoice> out;
  out.reserve(decisions.size());
  for (const Decision& d : decisions) out.push_back(RecordedChoice{d.chosen, d.ready});
  return out;
}

std::vector<RecordedChoice> recorded_choices(const Trace& trace) {
  return recorded_choices(trace.decisions());
}

// --- PCT --------------------------------------------------------------------------------------

PctScheduler::PctScheduler(int depth, size_t expected_steps)
    : depth_(depth), expected_steps_(std::max<size_t>(expected_steps, 1)) {
  if (depth < 1) throw std::invalid_argument("PctScheduler: depth must be at least 1");
}

int64_t PctScheduler::priority_of(ProcessId pid, Rng& rng) {
  auto it = priority_.find(pid);
  if (it != priority_.end()) return it->second;
  // Uniform in [1, 2^62]: a new process lands at a uniformly random rank among the processes
  // that still have their initial priority, and above every lowered one.
  int64_t p;
  do p = static_cast<int64_t>(rng.next() >> 2) + 1;
  while (!used_.insert(p).second);
  priority_.emplace(pid, p);
  return p;
}

size_t PctScheduler::highest(const std::vector<ReadyEntry>& ready, Rng& rng) {
  size_t best = 0;
  int64_t best_priority = priority_of(ready[0].pid, rng);
  for (size_t i = 1; i < ready.size(); ++i) {
    const int64_t p = priority_of(ready[i].pid, rng);
    if (p > best_priority) {
      best = i;
      best_priority = p;
    }
  }
  return best;
}

size_t PctScheduler::pick(const std::vector<ReadyEntry>& ready, Rng& rng) {
  // A step with one ready task (if the executor asks at all) is no choice: it draws nothing and
  // does not count, so a run is the same whether or not the executor shows such steps.
  if (ready.size() <= 1) return 0;
  if (!initialised_) {
    initialised_ = true;
    const size_t n = std::min(static_cast<size_t>(depth_ - 1), expected_steps_);
    while (changes_.size() < n) changes_.insert(static_cast<size_t>(rng.below(expected_steps_)));
  }
  size_t idx = highest(ready, rng);
  if (changes_.count(step_) != 0) {
    priority_[ready[idx].pid] = --lowest_;
    idx = highest(ready, rng);
  }
  ++step_;
  return idx;
}

std::vector<ProcessId> PctScheduler::priority_order() const {
  std::vector<std::pair<int64_t, ProcessId>> v;
  v.reserve(priority_.size());
  for (const auto& [pid, p] : priority_) v.emplace_back(p, pid);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ProcessId> out;
  out.reserve(v.size());
  for (const auto& e : v) out.push_back(e.second);
  return out;
}

// --- replay -----------------------------------------------------------------------------------

ReplayScheduler::ReplayScheduler(std::vector<RecordedChoice> choices, ReplayOptions options)
    : choices_(std::move(choices)), options_(options) {}

void ReplayScheduler::diverge(size_t step, uint32_t expected_ready, uint32_t recorded_chosen,
                              const std::vector<ReadyEntry>& ready, uint32_t actual_ready) {
  std::string entries;
  for (size_t i = 0; i < ready.size(); ++i) {
    if (i != 0) entries += ", ";
    entries += "#" + std::to_string(i) + " pid " + std::to_string(ready[i].pid) + " \"" +
               std::string(ready[i].label) + "\"";
  }
  divergence_ = Divergence{step, expected_ready, actual_ready, recorded_chosen, std::move(entries)};
}

std::string ReplayScheduler::divergence() const {
  if (!divergence_) return {};
  const Divergence& d = *divergence_;
  std::string s = "replay diverged at step " + std::to_string(d.step) + ": ";
  if (d.expected_ready == d.actual_ready) {
    s += "recorded index #" + std::to_string(d.recorded_chosen) + " is out of range for " +
         std::to_string(d.expected_ready) + " ready task(s)";
  } else {
    s += "recorded " + std::to_string(d.expected_ready) + " ready task(s) (picked #" +
         std::to_string(d.recorded_chosen) + "), the run has " + std::to_string(d.actual_ready);
  }
  if (d.entries.empty()) {
    s += " (a step with a single ready task, taken without consulting the scheduler)";
  } else {
    s += ": [" + d.entries + "]";
  }
  return s;
}

size_t ReplayScheduler::pick(const std::vector<ReadyEntry>& ready, Rng& /*rng*/) {
  if (divergence_) return 0;
  const auto actual = static_cast<uint32_t>(ready.size());
  size_t step;
  if (options_.sync != nullptr) {
    step = options_.sync->size();
    // The steps between the previous pick and this one had a single ready task.
    for (; next_ < step && next_ < choices_.size(); ++next_) {
      if (choices_[next_].ready > 1) {
        diverge(next_, choices_[next_].ready, choices_[next_].chosen, {}, 1);
        return 0;
      }
    }
    if (step >= choices_.size()) return 0;
  } else if (actual <= 1) {
    // An executor that shows forced steps to the scheduler: consume the recorded one, if the
    // list has forced steps at all (a list of choice points alone has none).
    if (next_ < choices_.size() && choices_[next_].ready <= 1) ++next_;
    return 0;
  } else {
    while (next_ < choices_.size() && choices_[next_].ready <= 1) ++next_;
    if (next_ >= choices_.size()) return 0;
    step = next_;
  }
  const RecordedChoice& c = choices_[step];
  if (c.ready != actual || c.chosen >= actual) {
    diverge(step, c.ready, c.chosen, ready, actual);
    return 0;
  }
  next_ = step + 1;
  return c.chosen;
}

// --- recording --------------------------------------------------------------------------------

RecordingScheduler::RecordingScheduler(std::unique_ptr<Scheduler> inner,
                                       std::vector<RecordedChoice>* out)
    : inner_(std::move(inner)), out_(out) {
  if (!inner_ || out_ == nullptr)
    throw std::invalid_argument("RecordingScheduler: needs a scheduler and an output vector");
}

size_t RecordingScheduler::pick(const std::vector<ReadyEntry>& ready, Rng& rng) {
  const size_t idx = inner_->pick(ready, rng);
  out_->push_back(RecordedChoice{static_cast<uint32_t>(idx), static_cast<uint32_t>(ready.size())});
  return idx;
}

// --- bounded DFS ------------------------------------------------------------------------------

DfsExplorer::DfsExplorer(size_t max_depth, int max_preemptions)
    : max_depth_(max_depth), max_preemptions_(max_preemptions) {}

bool DfsExplorer::next(std::vector<RecordedChoice>& prefix) {
  if (awaiting_record_)
    throw std::logic_error("DfsExplorer::next: the previous prefix's run was not recorded");
  if (complete_) return false;
  if (!started_) {
    started_ = true;
    forced_.clear();
    prefix = forced_;
    awaiting_record_ = true;
    return true;
  }
  // Backtrack: the deepest choice point with an untried sibling within the preemption bound.
  int used = 0;
  for (const RecordedChoice& c : path_) used += c.chosen != 0 ? 1 : 0;
  while (!path_.empty()) {
    RecordedChoice& top = path_.back();
    const int before = used - (top.chosen != 0 ? 1 : 0);
    const bool may_preempt = max_preemptions_ < 0 || before < max_preemptions_;
    if (top.chosen + 1 < top.ready && may_preempt) {
      ++top.chosen;
      forced_ = path_;
      prefix = forced_;
      awaiting_record_ = true;
      return true;
    }
    used = before;
    path_.pop_back();
  }
  complete_ = true;
  return false;
}

void DfsExplorer::record(const std::vector<RecordedChoice>& full_run) {
  if (!awaiting_record_) throw std::logic_error("DfsExplorer::record: no prefix is being run");
  awaiting_record_ = false;
  std::vector<RecordedChoice> points;
  points.reserve(full_run.size());
  for (const RecordedChoice& c : full_run)
    if (c.ready > 1) points.push_back(c);
  for (size_t i = 0; i < forced_.size(); ++i) {
    if (i >= points.size())
      throw std::logic_error("DfsExplorer::record: the run ended after " +
                             std::to_string(points.size()) + " choice point(s), before its " +
                             std::to_string(forced_.size()) + "-choice prefix (nondeterminism?)");
    if (points[i] != forced_[i])
      throw std::logic_error(
          "DfsExplorer::record: the run did not follow its prefix at choice point " +
          std::to_string(i) + ": forced #" + std::to_string(forced_[i].chosen) + " of " +
          std::to_string(forced_[i].ready) + ", run picked #" + std::to_string(points[i].chosen) +
          " of " + std::to_string(points[i].ready) + " (nondeterminism?)");
  }
  path_ = forced_;
  for (size_t i = forced_.size(); i < points.size() && path_.size() < max_depth_; ++i) {
    if (points[i].chosen != 0)
      throw std::logic_error("DfsExplorer::record: choice point " + std::to_string(i) +
                             " beyond the prefix picked #" + std::to_string(points[i].chosen) +
                             " instead of #0 (use make_dfs_scheduler)");
    path_.push_back(points[i]);
  }
  ++schedules_;
}

std::unique_ptr<Scheduler> make_dfs_scheduler(const std::vector<RecordedChoice>& prefix) {
  return std::make_unique<ReplayScheduler>(prefix);
}

}  // namespace fkemu
